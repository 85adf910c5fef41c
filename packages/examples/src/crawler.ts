// Web crawler: P partition actors, each owning the URLs whose hash falls in its partition. An
// owner keeps the set of URLs it has ever seen and its frontier in its state, so both move with
// it on a migration; it fetches its frontier over HTTP with at most `politeness` requests per
// host at a time, and sends the links it finds to their owners in one batch per owner. A fetch
// is the only work an actor has outside its handlers: its safe point is "nothing in flight",
// and while a hold is requested it starts no new fetch. Sequenced, exactly-once delivery of the
// batches (the runtime's) plus the owner's seen-set make every reachable URL fetched once.
import { Agent, request } from "node:http";
// Names from their own entry point: the API validates deployments with this module and must not load the theater runtime.
import type { ActorBehavior, ActorContext, ActorSpec, BehaviorRegistry } from "@malleo/actors";
import { formatUan } from "@malleo/actors/names";
import { CRAWLER_SEED_PATH, ROBOTS_PATH } from "./crawler-site";

export const CRAWLER_PARTITION_BEHAVIOR = "crawler.partition";

export interface CrawlerConfig {
  /** Base URL of the site, e.g. http://127.0.0.1:8080 */
  site: string;
  partitions: number;
  /** Most requests one partition has in flight to one host. */
  politeness: number;
}

export interface CrawlerPartitionInit extends CrawlerConfig {
  index: number;
  /** UAN of every partition, by index. */
  owners: string[];
}

export interface CrawlerPartitionState extends CrawlerPartitionInit {
  /** Every URL of this partition ever discovered: the exactly-once guard. */
  seen: Set<string>;
  /** URLs to fetch, per host, in discovery order. */
  frontier: Map<string, string[]>;
  frontierSize: number;
  /** URLs being fetched right now, by host. */
  inFlight: Map<string, Set<string>>;
  /** Disallowed path prefixes from robots.txt; null until known (nothing is fetched before). */
  disallow: string[] | null;
  fetched: number;
  byStatus: Record<string, number>;
  skippedByRobots: number;
  /** Batches of URLs (and robots rules) sent to and received from other partitions: termination detection. */
  sent: number;
  received: number;
  /** A `pump` self-message is pending (work waits for a hold to be lifted). */
  pumpPending: boolean;
}

export type CrawlerMessage =
  | { kind: "discover"; urls: string[] }
  | { kind: "robots"; disallow: string[] }
  /** `lines`: the body of a plain-text answer (robots.txt), split in lines. */
  | { kind: "fetched"; url: string; status: number; links: string[]; lines: string[]; location: string | null }
  | { kind: "pump" };

/** FNV-1a: a stable hash, the same in every process, so every partition agrees on the owners. */
export function crawlerHash(text: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index++) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

export function crawlerOwner(url: string, partitions: number): number {
  return crawlerHash(url) % partitions;
}

export function crawlerActorUan(app: string, index: number, partitions: number): string {
  return formatUan(app, `partition-${String(index).padStart(String(partitions - 1).length, "0")}`);
}

export function crawlerActorSpecs(app: string, config: CrawlerConfig): ActorSpec[] {
  validateCrawlerConfig(config);
  const owners = Array.from({ length: config.partitions }, (_, index) => crawlerActorUan(app, index, config.partitions));
  return owners.map((uan, index) => ({
    uan,
    behavior: CRAWLER_PARTITION_BEHAVIOR,
    init: { ...config, index, owners } satisfies CrawlerPartitionInit,
  }));
}

function validateCrawlerConfig(config: CrawlerConfig): void {
  new URL(config.site);
  if (!Number.isInteger(config.partitions) || config.partitions < 1)
    throw new Error(`partitions must be a positive integer, got ${config.partitions}`);
  if (!Number.isInteger(config.politeness) || config.politeness < 1)
    throw new Error(`politeness must be a positive integer, got ${config.politeness}`);
}

// One keep-alive pool per process; the politeness limit, not the pool, bounds concurrency.
const agent = new Agent({ keepAlive: true, maxSockets: 256 });

function startFetch(url: string, context: ActorContext): void {
  const done = (status: number, links: string[], lines: string[], location: string | null) =>
    context.send(context.self, { kind: "fetched", url, status, links, lines, location } satisfies CrawlerMessage);
  const req = request(url, { agent, method: "GET" }, (response) => {
    const status = response.statusCode ?? 0;
    const location = typeof response.headers.location === "string" ? response.headers.location : null;
    const type = status === 200 ? (response.headers["content-type"] ?? "") : "";
    const chunks: Buffer[] = [];
    response.on("data", (chunk: Buffer) => {
      if (type.startsWith("text/")) chunks.push(chunk);
    });
    response.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      if (type.startsWith("text/html")) done(status, extractLinks(body), [], location);
      else done(status, [], type.startsWith("text/plain") ? body.split("\n") : [], location);
    });
    response.on("error", () => done(0, [], [], null));
  });
  req.on("error", () => done(0, [], [], null));
  req.end();
}

const HREF = /href="([^"#]*)/g;

export function extractLinks(html: string): string[] {
  return [...html.matchAll(HREF)].map((match) => match[1]!);
}

function normalise(href: string, base: string): string | null {
  try {
    const url = new URL(href, base);
    if (url.protocol !== "http:" && url.protocol !== "https:") return null;
    url.hash = "";
    return url.toString();
  } catch {
    return null;
  }
}

function inFlightCount(state: CrawlerPartitionState): number {
  let count = 0;
  for (const urls of state.inFlight.values()) count += urls.size;
  return count;
}

function isDisallowed(state: CrawlerPartitionState, url: string): boolean {
  const path = new URL(url).pathname;
  return path !== ROBOTS_PATH && (state.disallow ?? []).some((prefix) => prefix !== "" && path.startsWith(prefix));
}

function addOwned(state: CrawlerPartitionState, urls: Iterable<string>): void {
  for (const url of urls) {
    if (state.seen.has(url)) continue;
    state.seen.add(url);
    const host = new URL(url).host;
    const queue = state.frontier.get(host);
    if (queue) queue.push(url);
    else state.frontier.set(host, [url]);
    state.frontierSize++;
  }
}

/**
 * Starts fetches from the frontier up to the politeness limit of each host, unless a hold is
 * requested. Costs what it launches, not the frontier's length: it runs after every message.
 */
function launch(state: CrawlerPartitionState, context: ActorContext): void {
  if (state.frontierSize === 0) return;
  if (context.holdRequested) {
    // Finish what is in flight and start nothing: the safe point. Come back after the resume.
    if (!state.pumpPending) {
      state.pumpPending = true;
      context.schedule({ kind: "pump" } satisfies CrawlerMessage, 5);
    }
    return;
  }
  for (const [host, queue] of state.frontier) {
    const hostFlights = state.inFlight.get(host) ?? new Set<string>();
    while (queue.length > 0 && hostFlights.size < state.politeness) {
      // Nothing but robots.txt before its rules are known.
      if (state.disallow === null && new URL(queue[0]!).pathname !== ROBOTS_PATH) {
        const robots = queue.findIndex((url) => new URL(url).pathname === ROBOTS_PATH);
        if (robots === -1) break;
        queue.unshift(queue.splice(robots, 1)[0]!);
      }
      const url = queue.shift()!;
      state.frontierSize--;
      if (state.disallow !== null && isDisallowed(state, url)) {
        state.skippedByRobots++;
        continue;
      }
      hostFlights.add(url);
      startFetch(url, context);
    }
    if (hostFlights.size > 0) state.inFlight.set(host, hostFlights);
    if (queue.length === 0) state.frontier.delete(host);
  }
}

function handleFetched(
  state: CrawlerPartitionState,
  message: Extract<CrawlerMessage, { kind: "fetched" }>,
  context: ActorContext,
): void {
  const host = new URL(message.url).host;
  state.inFlight.get(host)?.delete(message.url);
  if (state.inFlight.get(host)?.size === 0) state.inFlight.delete(host);
  state.fetched++;
  const statusClass = message.status === 0 ? "error" : `${Math.floor(message.status / 100)}xx`;
  state.byStatus[statusClass] = (state.byStatus[statusClass] ?? 0) + 1;

  if (new URL(message.url).pathname === ROBOTS_PATH) {
    const disallow = message.status === 200 ? parseRobots(message.lines) : [];
    applyRobots(state, disallow);
    for (const owner of state.owners) {
      if (owner === context.self) continue;
      context.send(owner, { kind: "robots", disallow } satisfies CrawlerMessage);
      state.sent++;
    }
    return;
  }
  const found = [...message.links, ...(message.location ? [message.location] : [])];
  const byOwner = new Map<number, string[]>();
  const origin = new URL(state.site).origin;
  for (const href of found) {
    const url = normalise(href, message.url);
    if (!url || new URL(url).origin !== origin) continue;
    const owner = crawlerOwner(url, state.partitions);
    byOwner.set(owner, [...(byOwner.get(owner) ?? []), url]);
  }
  for (const [owner, urls] of byOwner) {
    if (owner === state.index) addOwned(state, urls);
    else {
      context.send(state.owners[owner]!, { kind: "discover", urls: [...new Set(urls)] } satisfies CrawlerMessage);
      state.sent++;
    }
  }
}

/** The Disallow prefixes of a robots.txt (every user agent: the site has one group). */
function parseRobots(lines: string[]): string[] {
  return lines
    .map((line) => /^\s*Disallow:\s*(\S*)/i.exec(line)?.[1])
    .filter((prefix): prefix is string => prefix !== undefined && prefix !== "");
}

function applyRobots(state: CrawlerPartitionState, disallow: string[]): void {
  state.disallow = disallow;
}

export const crawlerPartitionBehavior: ActorBehavior<CrawlerPartitionState, CrawlerMessage> = {
  init(args) {
    const init = args as CrawlerPartitionInit;
    validateCrawlerConfig(init);
    const state: CrawlerPartitionState = {
      ...init,
      seen: new Set(),
      frontier: new Map(),
      frontierSize: 0,
      inFlight: new Map(),
      disallow: null,
      fetched: 0,
      byStatus: {},
      skippedByRobots: 0,
      sent: 0,
      received: 0,
      pumpPending: false,
    };
    const seeds = [new URL(ROBOTS_PATH, init.site).toString(), new URL(CRAWLER_SEED_PATH, init.site).toString()];
    addOwned(
      state,
      seeds.filter((url) => crawlerOwner(url, init.partitions) === init.index),
    );
    return state;
  },
  start(state, context) {
    launch(state, context);
    return state;
  },
  receive(state, message, context) {
    switch (message.kind) {
      case "discover":
        state.received++;
        addOwned(state, message.urls);
        break;
      case "robots":
        state.received++;
        applyRobots(state, message.disallow);
        break;
      case "fetched":
        handleFetched(state, message, context);
        break;
      case "pump":
        state.pumpPending = false;
        break;
    }
    launch(state, context);
    return state;
  },
  isSafePoint: (state) => inFlightCount(state) === 0,
  progress: (state) => state.fetched,
};

export const crawlerBehaviors: BehaviorRegistry = { [CRAWLER_PARTITION_BEHAVIOR]: crawlerPartitionBehavior };

export function isCrawlerPartitionState(value: unknown): value is CrawlerPartitionState {
  const state = value as Partial<CrawlerPartitionState> | null;
  return typeof state === "object" && state !== null && state.seen instanceof Set && state.frontier instanceof Map;
}

export interface CrawlerTotals {
  /** Every partition has an empty frontier, nothing in flight and knows the robots rules. */
  idle: boolean;
  sent: number;
  received: number;
  fetched: number;
}

export function crawlerTotals(states: Iterable<unknown>): CrawlerTotals {
  const totals: CrawlerTotals = { idle: true, sent: 0, received: 0, fetched: 0 };
  for (const state of states) {
    if (!isCrawlerPartitionState(state)) throw new Error("not a crawler partition state");
    totals.idle &&= state.frontierSize === 0 && inFlightCount(state) === 0 && state.disallow !== null;
    totals.sent += state.sent;
    totals.received += state.received;
    totals.fetched += state.fetched;
  }
  return totals;
}

/**
 * Termination by the four-counter method: two successive snapshots, both idle with every sent
 * batch received and the same counts, mean no partition has work and no batch is in transit.
 */
export function crawlerFinished(previous: CrawlerTotals | null, current: CrawlerTotals): boolean {
  return (
    previous !== null &&
    previous.idle &&
    current.idle &&
    current.sent === current.received &&
    previous.sent === current.sent &&
    previous.received === current.received &&
    previous.fetched === current.fetched
  );
}
