/** How a lost host connection is retried: 0.5 s doubling to a 30 s cap, each delay jittered by ±20%. */
export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
  /** Fraction of the delay added or removed at random, so that many hosts do not retry in step. */
  jitter: number;
}

export const HOST_RECONNECT_BACKOFF: BackoffPolicy = { baseMs: 500, maxMs: 30_000, jitter: 0.2 };

/**
 * The delay before reconnect attempt `attempt` (0 for the first retry after a loss): base × 2^attempt,
 * capped, then scaled by a factor in [1 − jitter, 1 + jitter) drawn from `random` (0 ≤ random() < 1),
 * and never beyond the cap. Pure: give it a fixed `random` to get the schedule.
 */
export function reconnectDelayMs(attempt: number, policy: BackoffPolicy = HOST_RECONNECT_BACKOFF, random = Math.random): number {
  const exponent = Math.min(Math.max(0, Math.floor(attempt)), 30);
  const nominal = Math.min(policy.maxMs, policy.baseMs * 2 ** exponent);
  const factor = 1 - policy.jitter + 2 * policy.jitter * random();
  return Math.round(Math.min(policy.maxMs, nominal * factor));
}
