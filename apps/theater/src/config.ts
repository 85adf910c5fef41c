import { parseArgs } from "node:util";
import { parseAddressList, type TheaterFault } from "@malleo/actors";

export interface TheaterConfig {
  vmId: string;
  /** Mediator addresses, tried in turn (failover). */
  mediators: string[];
  secret: string;
  listenHost: string;
  advertisedHost: string | undefined;
  fault: TheaterFault | undefined;
  /** Application modules (absolute paths or package names) hosted besides the installed ones. */
  applicationModules: string[];
}

export class TheaterConfigError extends Error {}

const USAGE =
  "usage: theater --vm <vmId> --mediator <host:port>[,<host:port>…] [--secret <s> | env MALLEO_THEATER_SECRET] " +
  "[--listen-host 127.0.0.1] [--advertise-host <ip>] [--applications <module>,… | env MALLEO_APPLICATION_MODULES]";

/**
 * Reads the theater's parameters once, at start: flags first, then the environment a guest
 * image's init can set (MALLEO_VM_ID, MALLEO_MEDIATOR, MALLEO_THEATER_SECRET, …).
 */
export function readTheaterConfig(argv: string[], env: Readonly<Record<string, string | undefined>>): TheaterConfig {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        vm: { type: "string" },
        mediator: { type: "string" },
        secret: { type: "string" },
        "listen-host": { type: "string" },
        "advertise-host": { type: "string" },
        fault: { type: "string" },
        applications: { type: "string" },
      },
      strict: true,
    }));
  } catch (error) {
    throw new TheaterConfigError(`${(error as Error).message}\n${USAGE}`);
  }
  const vmId = values.vm ?? env.MALLEO_VM_ID;
  const mediator = values.mediator ?? env.MALLEO_MEDIATOR;
  const secret = values.secret ?? env.MALLEO_THEATER_SECRET;
  if (!vmId) throw new TheaterConfigError(`missing --vm\n${USAGE}`);
  if (!mediator) throw new TheaterConfigError(`missing --mediator\n${USAGE}`);
  if (!secret) throw new TheaterConfigError(`missing --secret (or MALLEO_THEATER_SECRET)\n${USAGE}`);
  let mediators: string[];
  try {
    mediators = parseAddressList(mediator);
  } catch (error) {
    throw new TheaterConfigError(`bad --mediator (or MALLEO_MEDIATOR): ${(error as Error).message}`);
  }
  const fault = values.fault ?? env.MALLEO_THEATER_FAULT;
  if (fault !== undefined && fault !== "crash-before-migration-ack") {
    throw new TheaterConfigError(`unknown --fault ${JSON.stringify(fault)}`);
  }
  return {
    vmId,
    mediators,
    secret,
    listenHost: values["listen-host"] ?? env.MALLEO_LISTEN_HOST ?? "127.0.0.1",
    advertisedHost: values["advertise-host"] ?? env.MALLEO_ADVERTISE_HOST,
    fault,
    applicationModules: (values.applications ?? env.MALLEO_APPLICATION_MODULES ?? "")
      .split(",")
      .map((m) => m.trim())
      .filter((m) => m.length > 0),
  };
}
