/**
 * Waiting for a condition in tests and tools: poll until it holds, fail naming `what` at the
 * deadline. Never a bare sleep standing in for an event. The deadline only bounds how long a
 * failing wait takes; nothing depends on how fast a passing one is.
 */
export interface WaitOptions {
  /** How long before giving up (default 60 s). */
  timeoutMs?: number;
  /** Pause between two polls (default 100 ms for `waitFor`, 20 ms for `waitUntil`). */
  intervalMs?: number;
  /** Treat a throwing probe as "not yet" (e.g. while Postgres restarts). */
  ignoreErrors?: boolean;
}

const DEFAULT_TIMEOUT_MS = 60_000;

function options(opts: WaitOptions | number, intervalMs: number): Required<WaitOptions> {
  const o = typeof opts === "number" ? { timeoutMs: opts } : opts;
  return {
    timeoutMs: o.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    intervalMs: o.intervalMs ?? intervalMs,
    ignoreErrors: o.ignoreErrors ?? false,
  };
}

async function poll<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, o: Required<WaitOptions>): Promise<T> {
  const deadline = Date.now() + o.timeoutMs;
  for (;;) {
    const v = o.ignoreErrors
      ? await Promise.resolve()
          .then(probe)
          .catch(() => undefined)
      : await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${o.timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, o.intervalMs));
  }
}

/** Polls `probe` until it returns a value (not undefined) and returns that value. */
export function waitFor<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  opts: WaitOptions = {},
): Promise<T> {
  return poll(what, probe, options(opts, 100));
}

/** Polls `condition` until it is true; `opts` may be just the timeout in milliseconds. */
export async function waitUntil(
  what: string,
  condition: () => boolean | Promise<boolean>,
  opts: WaitOptions | number = {},
): Promise<void> {
  await poll(what, async () => ((await condition()) ? true : undefined), options(opts, 20));
}
