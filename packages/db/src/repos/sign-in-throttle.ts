import type { Db } from "../client";

export interface ThrottleCount {
  key: string;
  /** Attempts in the current window, this one included. */
  attempts: number;
  windowStartedAt: Date;
}

/**
 * Counts one sign-in attempt against each key, atomically: a key whose window (`windowMs`) has
 * ended starts a new one at `now` with this attempt. Every web process shares the counts, and
 * concurrent attempts each get their own number, so a burst cannot slip past the limit.
 */
export async function signInAttemptCount(db: Db, keys: string[], windowMs: number, now: Date): Promise<ThrottleCount[]> {
  const expired = new Date(now.getTime() - windowMs);
  // Old windows go, so an attacker's random names leave no lasting rows; rows another attempt
  // holds are skipped rather than waited for (no lock cycle with the upserts below).
  await db.$executeRaw`DELETE FROM sign_in_throttle WHERE key IN (
    SELECT key FROM sign_in_throttle WHERE window_started_at <= ${expired} FOR UPDATE SKIP LOCKED)`;
  return db.$transaction(async (tx) => {
    const out: ThrottleCount[] = [];
    // Always in the same order, so that two attempts never wait on each other's rows in a cycle.
    for (const key of [...keys].sort()) {
      const [row] = await tx.$queryRaw<{ attempts: number; window_started_at: Date }[]>`
        INSERT INTO sign_in_throttle (key, attempts, window_started_at) VALUES (${key}, 1, ${now})
        ON CONFLICT (key) DO UPDATE SET
          attempts = CASE WHEN sign_in_throttle.window_started_at <= ${expired} THEN 1 ELSE sign_in_throttle.attempts + 1 END,
          window_started_at = CASE WHEN sign_in_throttle.window_started_at <= ${expired} THEN ${now} ELSE sign_in_throttle.window_started_at END
        RETURNING attempts, window_started_at`;
      out.push({ key, attempts: row!.attempts, windowStartedAt: row!.window_started_at });
    }
    return out;
  });
}

/** A right password: the account's count is cleared and the client's attempt is not held against it. */
export async function signInAttemptSucceeded(db: Db, accountKey: string, clientKey: string): Promise<void> {
  await db.$transaction([
    db.$executeRaw`DELETE FROM sign_in_throttle WHERE key = ${accountKey}`,
    db.$executeRaw`UPDATE sign_in_throttle SET attempts = GREATEST(attempts - 1, 0) WHERE key = ${clientKey}`,
  ]);
}
