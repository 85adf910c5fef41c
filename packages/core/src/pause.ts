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

/** The runs of milliseconds in [fromMs, toMs) in which no window shows progress, by length. */
function idleRuns(windows: ActivityBits[], fromMs: number, toMs: number): { runs: number[]; active: number } {
  const from = Math.floor(fromMs);
  const to = Math.ceil(toMs);
  const runs: number[] = [];
  let run = 0;
  let active = 0;
  for (let ms = from; ms < to; ms++) {
    if (windows.some((w) => isActive(w, ms))) {
      active++;
      if (run > 0) runs.push(run);
      run = 0;
    } else run++;
  }
  if (run > 0) runs.push(run);
  return { runs, active };
}

/** The longest run of milliseconds in [fromMs, toMs) in which no window shows progress. */
export function longestIdleMs(windows: ActivityBits[], fromMs: number, toMs: number): number {
  return Math.max(0, ...idleRuns(windows, fromMs, toMs).runs);
}

export interface ApplicationPause {
  /** Longest stretch without progress during the operation, less the normal gap between progress before it. */
  pauseMs: number;
  /** The longest stretch without progress during the operation, as measured. */
  idleMs: number;
  /**
   * The application's normal gap between progress: the median stretch without progress in the
   * `baselineMs` before the operation (its iteration time, for an application that progresses in
   * steps). The median, not the longest: one garbage collection or busy neighbour before the
   * operation must not hide a pause during it.
   */
  normalGapMs: number;
}

/**
 * The application's normal gap between progress: the median stretch without progress over the
 * `baselineMs` before `beforeMs`; null when it made no progress at all there (finished, or stopped).
 */
export function normalGapMs(windows: ActivityBits[], beforeMs: number, baselineMs = 1000): number | null {
  const before = idleRuns(windows, beforeMs - baselineMs, beforeMs);
  if (before.active === 0) return null;
  const sorted = [...before.runs].sort((a, b) => a - b);
  return sorted.length === 0 ? 0 : sorted[Math.floor((sorted.length - 1) / 2)]!;
}

/**
 * The application's pause over [fromMs, toMs): the longest interval without progress, less the
 * normal gap measured over the `baselineMs` before `fromMs`. An application that made no
 * progress at all before the operation (finished, or stopped) has no pause to speak of: null.
 */
export function applicationPause(
  windows: ActivityBits[],
  fromMs: number,
  toMs: number,
  baselineMs = 1000,
): ApplicationPause | null {
  const gap = normalGapMs(windows, fromMs, baselineMs);
  if (gap === null) return null;
  const idleMs = longestIdleMs(windows, fromMs, toMs);
  return { pauseMs: Math.max(0, idleMs - gap), idleMs, normalGapMs: gap };
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
