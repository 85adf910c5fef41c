import pg from "pg";
import type { Db } from "./client";

/** The one channel on which the worker and API announce changes; the web UI listens. */
export const EVENTS_CHANNEL = "malleo_events";

/** A VM's actor summary as the triggers on actors keep it (migration 20261125152000_topology_counts). */
export interface VmActorCounts {
  id: string;
  actorCount: number;
  firstOrdinal: number | null;
  lastOrdinal: number | null;
}

export type MalleoEvent =
  | { type: "topology" }
  | { type: "operation"; operationId: string }
  | { type: "application"; applicationId: string; iteration: number }
  // A "test connection" request (host_probes) for a worker to serve.
  | { type: "host-probe"; probeId: string }
  // Sent by the database itself whenever actors change VM: each batch of a Transfer, as it commits.
  | { type: "actors"; vms: VmActorCounts[] };

export async function publishEvent(db: Db, event: MalleoEvent): Promise<void> {
  await db.$executeRaw`SELECT pg_notify(${EVENTS_CHANNEL}, ${JSON.stringify(event)})`;
}

/**
 * Closes a connection we no longer listen on. It keeps a no-op error handler: the server may
 * still end it with an error while it closes (a database dropped WITH (FORCE), a shutdown), and
 * an error event without a handler would crash the process.
 */
function discard(c: pg.Client): void {
  c.removeAllListeners();
  c.on("error", () => {});
  c.end().catch(() => {});
}

/**
 * Listens on the events channel on its own connection, reconnecting after a drop.
 * Returns a function that stops listening.
 */
export function listenEvents(url: string, onEvent: (e: MalleoEvent) => void, onError?: (e: Error) => void): () => void {
  let client: pg.Client | undefined;
  let stopped = false;
  let retry: NodeJS.Timeout | undefined;
  const connect = async () => {
    const c = new pg.Client({ connectionString: url });
    client = c;
    c.on("notification", (n) => {
      if (n.channel !== EVENTS_CHANNEL || !n.payload) return;
      try {
        onEvent(JSON.parse(n.payload) as MalleoEvent);
      } catch (e) {
        onError?.(e as Error);
      }
    });
    c.on("error", (e) => {
      onError?.(e);
      scheduleReconnect();
    });
    c.on("end", scheduleReconnect);
    try {
      await c.connect();
      await c.query(`LISTEN ${EVENTS_CHANNEL}`);
    } catch (e) {
      onError?.(e as Error);
      scheduleReconnect();
    }
  };
  const scheduleReconnect = () => {
    if (stopped || retry) return;
    if (client) discard(client);
    retry = setTimeout(() => {
      retry = undefined;
      void connect();
    }, 500);
  };
  void connect();
  return () => {
    stopped = true;
    if (retry) clearTimeout(retry);
    if (client) discard(client);
  };
}
