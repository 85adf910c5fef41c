// Universal actor names (UAN) are permanent; universal actor locators (UAL) say where an actor
// lives right now and change on every migration. A theater address is "host:port".

const UAN_PATTERN = /^uan:\/\/([A-Za-z0-9][A-Za-z0-9._-]*)\/([A-Za-z0-9][A-Za-z0-9._/-]*)$/;
const UAL_PATTERN = /^ual:\/\/([^/\s]+:\d{1,5})\/([A-Za-z0-9][A-Za-z0-9._-]*)\/([A-Za-z0-9][A-Za-z0-9._/-]*)$/;
const ADDRESS_PATTERN = /^([^:\s/]+|\[[0-9a-fA-F:]+\]):(\d{1,5})$/;

export interface ParsedUan {
  app: string;
  actor: string;
}

export interface ParsedUal {
  address: string;
  app: string;
  actor: string;
}

export interface TheaterAddress {
  host: string;
  port: number;
}

export function formatUan(app: string, actor: string): string {
  const uan = `uan://${app}/${actor}`;
  if (!UAN_PATTERN.test(uan))
    throw new Error(`invalid actor name parts: app=${JSON.stringify(app)} actor=${JSON.stringify(actor)}`);
  return uan;
}

export function parseUan(uan: string): ParsedUan {
  const match = UAN_PATTERN.exec(uan);
  if (!match) throw new Error(`not a UAN: ${JSON.stringify(uan)}`);
  return { app: match[1]!, actor: match[2]! };
}

export function isUan(value: unknown): value is string {
  return typeof value === "string" && UAN_PATTERN.test(value);
}

export function appOfUan(uan: string): string {
  return parseUan(uan).app;
}

/** The locator of `uan` when hosted by the theater listening at `address`. */
export function formatUal(address: string, uan: string): string {
  parseAddress(address);
  const { app, actor } = parseUan(uan);
  return `ual://${address}/${app}/${actor}`;
}

export function parseUal(ual: string): ParsedUal {
  const match = UAL_PATTERN.exec(ual);
  if (!match) throw new Error(`not a UAL: ${JSON.stringify(ual)}`);
  const address = match[1]!;
  parseAddress(address);
  return { address, app: match[2]!, actor: match[3]! };
}

/** The permanent name behind a locator. */
export function uanOfUal(ual: string): string {
  const { app, actor } = parseUal(ual);
  return `uan://${app}/${actor}`;
}

export function parseAddress(address: string): TheaterAddress {
  const match = ADDRESS_PATTERN.exec(address);
  const port = match ? Number(match[2]) : NaN;
  if (!match || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`not a theater address (host:port): ${JSON.stringify(address)}`);
  }
  const host = match[1]!.replace(/^\[(.*)\]$/, "$1");
  return { host, port };
}

export function formatAddress(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * A comma-separated list of Mediator addresses (`host:port,host:port`), as a theater is given
 * it. Each entry is checked; a bad one is named by its position. Repeats are dropped.
 */
export function parseAddressList(list: string): string[] {
  const entries = list.split(",").map((entry) => entry.trim());
  const addresses: string[] = [];
  entries.forEach((entry, index) => {
    if (entry === "")
      throw new Error(`address list ${JSON.stringify(list)}: entry ${index + 1} is empty; expected host:port,host:port`);
    try {
      parseAddress(entry);
    } catch {
      throw new Error(
        `address list ${JSON.stringify(list)}: entry ${index + 1} ${JSON.stringify(entry)} is not host:port; expected host:port,host:port`,
      );
    }
    if (!addresses.includes(entry)) addresses.push(entry);
  });
  return addresses;
}
