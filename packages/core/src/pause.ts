/**
 * The application's pause during an operation, from the progress activity of its theaters, and
 * the distribution of actors' hold times. Pure: the worker gathers the inputs.
 */

export interface ActivityBits {
  startMs: number;
  bits: Uint8Array;
  length: number;
}

function isActive(w: ActivityBits, ms: number): boolean {
  const k = ms - w.startMs;
  if (k < 0 || k >= w.length) return false;
  return (w.bits[k >> 3]! & (1 << (k & 7))) !== 0;
}

/** The longest run of milliseconds in [fromMs, toMs) in which no window shows progress. */
export function longestIdleMs(windows: ActivityBits[], fromMs: number, toMs: number): number {
  const from = Math.floor(fromMs);
  const to = Math.ceil(toMs);
  let longest = 0;
  let run = 0;
  for (let ms = from; ms < to; ms++) {
    if (windows.some((w) => isActive(w, ms))) run = 0;
    else if (++run > longest) longest = run;
  }
  return longest;
}

export interface ApplicationPause {
  /** Longest stretch without progress during the operation, less the normal longest stretch before it. */
  pauseMs: number;
  /** The longest stretch without progress during the operation, as measured. */
  idleMs: number;
  /** The longest stretch without progress in the `baselineMs` before the operation: its normal iteration gap. */
  normalGapMs: number;
}

/**
 * The application's pause over [fromMs, toMs): the longest interval without progress, less the
 * normal one measured over the `baselineMs` before `fromMs`. An application that made no
 * progress at all before the operation (finished, or stopped) has no pause to speak of: null.
 */
export function applicationPause(
  windows: ActivityBits[],
  fromMs: number,
  toMs: number,
  baselineMs = 1000,
): ApplicationPause | null {
  const normalGapMs = longestIdleMs(windows, fromMs - baselineMs, fromMs);
  if (normalGapMs >= baselineMs) return null;
  const idleMs = longestIdleMs(windows, fromMs, toMs);
  return { pauseMs: Math.max(0, idleMs - normalGapMs), idleMs, normalGapMs };
}

export interface Distribution {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentiles. */
export function distribution(values: readonly number[]): Distribution | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
  const round = (v: number) => Math.round(v * 10) / 10;
  return { count: sorted.length, p50: round(rank(50)), p99: round(rank(99)), max: round(sorted.at(-1)!) };
}
