import { EventEmitter, on } from "node:events";
import { listenEvents, type MalleoEvent } from "@malleo/db";
import { z } from "zod";
import type { OperationDetail } from "./operation-detail";

/** What the LISTEN channel may carry; anything else is dropped rather than sent to browsers. */
export const malleoEventSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("topology") }),
  z.object({ type: z.literal("operation"), operationId: z.string() }),
  z.object({ type: z.literal("application"), applicationId: z.string(), iteration: z.number().int() }),
  z.object({ type: z.literal("host-probe"), probeId: z.string() }),
  z.object({
    type: z.literal("actors"),
    vms: z.array(
      z.object({
        id: z.string(),
        actorCount: z.number().int(),
        firstOrdinal: z.number().int().nullable(),
        lastOrdinal: z.number().int().nullable(),
      }),
    ),
  }),
]) satisfies z.ZodType<MalleoEvent>;

export type ListenFn = typeof listenEvents;

/**
 * What subscribers receive: the channel's events, with an operation event carrying the
 * operation as operations.get returns it (read once per change, whoever is subscribed), so a
 * page shows a step change without a request of its own. `operation` is absent when the hub
 * has no loader or the read failed; clients then refetch.
 */
export type LiveEvent =
  | Exclude<MalleoEvent, { type: "operation" } | { type: "host-probe" }>
  | { type: "operation"; operationId: string; operation?: OperationDetail };

export interface EventHub {
  /** Yields every event published after the first `next()` until `signal` aborts or the consumer returns. */
  stream(signal?: AbortSignal): AsyncGenerator<LiveEvent, void, undefined>;
  subscriberCount(): number;
}

export interface EventHubOptions {
  listen?: ListenFn;
  onError?: (e: Error) => void;
  /** Reads an operation for its events (null when it does not exist). */
  loadOperation?: (operationId: string) => Promise<OperationDetail | null>;
}

/**
 * Fans one Postgres LISTEN connection out to any number of subscribers in this process. The
 * connection opens with the first subscriber and closes with the last, so an idle web server
 * holds no extra connection.
 */
export function createEventHub(url: string, opts: EventHubOptions = {}): EventHub {
  const listen = opts.listen ?? listenEvents;
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  let subscribers = 0;
  let stopListening: (() => void) | undefined;
  // Operations being read: a change arriving meanwhile asks for one more read after it, so
  // each operation's events leave in order and the last one carries the state after the last change.
  const reading = new Map<string, { again: boolean }>();

  const publishOperation = (operationId: string, load: NonNullable<EventHubOptions["loadOperation"]>) => {
    const pending = reading.get(operationId);
    if (pending) {
      pending.again = true;
      return;
    }
    const state = { again: false };
    reading.set(operationId, state);
    void (async () => {
      do {
        state.again = false;
        let operation: OperationDetail | null = null;
        try {
          operation = await load(operationId);
        } catch (e) {
          opts.onError?.(e as Error);
        }
        emitter.emit("event", operation ? { type: "operation", operationId, operation } : { type: "operation", operationId });
      } while (state.again);
      reading.delete(operationId);
    })();
  };

  const acquire = () => {
    subscribers += 1;
    if (subscribers === 1) {
      stopListening = listen(
        url,
        (raw) => {
          const parsed = malleoEventSchema.safeParse(raw);
          // A "test connection" request is for the workers, not for browsers.
          if (parsed.success && parsed.data.type === "host-probe") return;
          if (parsed.success && parsed.data.type === "operation" && opts.loadOperation)
            publishOperation(parsed.data.operationId, opts.loadOperation);
          else if (parsed.success) emitter.emit("event", parsed.data);
          else opts.onError?.(new Error(`dropped a malformed event: ${JSON.stringify(raw)}`));
        },
        opts.onError,
      );
    }
  };
  const release = () => {
    subscribers -= 1;
    if (subscribers === 0) {
      stopListening?.();
      stopListening = undefined;
    }
  };

  return {
    async *stream(signal) {
      if (signal?.aborted) return;
      acquire();
      try {
        for await (const [event] of on(emitter, "event", signal ? { signal } : {})) {
          yield event as LiveEvent;
        }
      } catch (e) {
        if (!signal?.aborted) throw e;
      } finally {
        release();
      }
    },
    subscriberCount: () => subscribers,
  };
}
