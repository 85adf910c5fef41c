import { EventEmitter, on } from "node:events";
import { listenEvents, type MalleoEvent } from "@malleo/db";
import { z } from "zod";

/** What the LISTEN channel may carry; anything else is dropped rather than sent to browsers. */
export const malleoEventSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("topology") }),
  z.object({ type: z.literal("operation"), operationId: z.string() }),
  z.object({ type: z.literal("application"), applicationId: z.string(), iteration: z.number().int() }),
]) satisfies z.ZodType<MalleoEvent>;

export type ListenFn = typeof listenEvents;

export interface EventHub {
  /** Yields every event published after the first `next()` until `signal` aborts or the consumer returns. */
  stream(signal?: AbortSignal): AsyncGenerator<MalleoEvent, void, undefined>;
  subscriberCount(): number;
}

/**
 * Fans one Postgres LISTEN connection out to any number of subscribers in this process. The
 * connection opens with the first subscriber and closes with the last, so an idle web server
 * holds no extra connection.
 */
export function createEventHub(url: string, opts: { listen?: ListenFn; onError?: (e: Error) => void } = {}): EventHub {
  const listen = opts.listen ?? listenEvents;
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  let subscribers = 0;
  let stopListening: (() => void) | undefined;

  const acquire = () => {
    subscribers += 1;
    if (subscribers === 1) {
      stopListening = listen(
        url,
        (raw) => {
          const parsed = malleoEventSchema.safeParse(raw);
          if (parsed.success) emitter.emit("event", parsed.data);
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
          yield event as MalleoEvent;
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
