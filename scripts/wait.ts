/**
 * Polls `probe` until it returns a value (not undefined) and returns that value; throws naming
 * `what` when the deadline passes. Tests and scripts wait for conditions this way, never with
 * bare sleeps. `ignoreErrors` treats a throwing probe as "not yet" (e.g. while Postgres restarts).
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  opts: { timeoutMs?: number; intervalMs?: number; ignoreErrors?: boolean } = {},
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = opts.ignoreErrors ? await probe().catch(() => undefined) : await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 100));
  }
}
