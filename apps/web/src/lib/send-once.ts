/**
 * How the console sends a change (split, merge, cancel): once, with an idempotency key and a
 * deadline, and never silently later. The key is kept while the operator resubmits the same
 * request, so a second click after a lost answer finds the operation the first one created
 * instead of making another; the deadline makes the server refuse a request that reaches it
 * late (a browser that was offline, a stalled proxy), so nothing happens behind the operator's
 * back once the dialog has said "no answer".
 */

/** How long the console waits for the server's answer; also the deadline it gives the server. */
export const SEND_TIMEOUT_MS = 10_000;

export type SendFailureKind = "offline" | "no-answer" | "unreachable";

/** A change the console could not confirm, with what the operator should believe about it. */
export class SendFailure extends Error {
  constructor(readonly kind: SendFailureKind) {
    super(SEND_FAILURE_MESSAGES[kind]);
    this.name = "SendFailure";
  }
}

export const SEND_FAILURE_MESSAGES: Record<SendFailureKind, string> = {
  offline: "Not sent: this browser is offline. Nothing was submitted; try again when it is back online.",
  "no-answer": `The server did not answer within ${SEND_TIMEOUT_MS / 1000} s. It may have accepted the request: check History before submitting again. It will not act on this request any later — past its deadline the server refuses it.`,
  unreachable:
    "The server could not be reached, so the request was probably not sent. Check History before submitting again; the server refuses this request once its deadline has passed.",
};

export interface Guard {
  idempotencyKey: string;
  deadline: number;
}

/** 32 hex digits from the browser's CSPRNG (crypto.randomUUID needs HTTPS; this does not). */
export function newIdempotencyKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Sends with `send(guard, signal)`; the signal aborts after SEND_TIMEOUT_MS. Transport failures
 * become a SendFailure; the server's own refusals pass through unchanged.
 */
export async function sendOnce<O>(
  guard: Guard,
  send: (guard: Guard, signal: AbortSignal) => Promise<O>,
  env: { online: () => boolean; timeoutMs?: number } = { online: () => navigator.onLine },
): Promise<O> {
  if (!env.online()) throw new SendFailure("offline");
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, env.timeoutMs ?? SEND_TIMEOUT_MS);
  try {
    return await send(guard, controller.signal);
  } catch (e) {
    if (timedOut) throw new SendFailure("no-answer");
    const message = e instanceof Error ? e.message : String(e);
    if (/fetch failed|failed to fetch|networkerror|load failed|network request failed/i.test(message))
      throw new SendFailure(env.online() ? "unreachable" : "offline");
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The key for this request: the same one while the operator resubmits the same input, a new one
 * when the input changes or the last one succeeded (call `done`).
 */
export function keyKeeper() {
  let last: { input: string; key: string } | undefined;
  return {
    guardFor(input: unknown, now = Date.now()): Guard {
      const text = JSON.stringify(input);
      if (last?.input !== text) last = { input: text, key: newIdempotencyKey() };
      return { idempotencyKey: last.key, deadline: now + SEND_TIMEOUT_MS };
    },
    done() {
      last = undefined;
    },
  };
}
