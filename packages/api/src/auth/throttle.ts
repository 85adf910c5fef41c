import { signInAttemptCount, signInAttemptSucceeded, type Db } from "@malleo/db";
import { TRPCError } from "@trpc/server";

/**
 * Sign-in throttling: each attempt is counted, before its password is hashed, against the
 * account and against the client's address, in fixed windows kept in Postgres (so every web
 * process sees the same counts). Past a limit, sign-in is refused with 429 and Retry-After until
 * the window ends — the right password too — and no scrypt runs.
 */
export interface SignInThrottle {
  /** Attempts per account name in a window. */
  perAccount: number;
  /** Attempts per client address in a window (all clients share one count when the address is unknown). */
  perClient: number;
  windowMs: number;
  /** The clock (tests move it forward instead of sleeping). */
  now?: () => Date;
}

export const DEFAULT_SIGN_IN_THROTTLE: SignInThrottle = { perAccount: 5, perClient: 50, windowMs: 15 * 60_000 };

/** The key under which a client's attempts are counted. */
export function clientThrottleKey(address: string | undefined): string {
  return `client:${address?.trim().toLowerCase() || "unknown"}`;
}

export function accountThrottleKey(name: string): string {
  return `account:${name.trim().toLowerCase()}`;
}

export class SignInThrottled extends TRPCError {
  constructor(readonly retryAfterS: number) {
    super({
      code: "TOO_MANY_REQUESTS",
      message: `too many sign-in attempts; try again in ${retryAfterS} s`,
    });
  }
}

/** Counts this attempt; throws SignInThrottled (429) when the account or the client is over its limit. */
export async function countSignInAttempt(
  db: Db,
  name: string,
  clientAddress: string | undefined,
  t: SignInThrottle = DEFAULT_SIGN_IN_THROTTLE,
): Promise<{ accountKey: string; clientKey: string }> {
  const now = t.now?.() ?? new Date();
  const accountKey = accountThrottleKey(name);
  const clientKey = clientThrottleKey(clientAddress);
  const counts = await signInAttemptCount(db, [accountKey, clientKey], t.windowMs, now);
  let retryAfterMs = 0;
  for (const c of counts) {
    const limit = c.key === accountKey ? t.perAccount : t.perClient;
    if (c.attempts > limit) retryAfterMs = Math.max(retryAfterMs, c.windowStartedAt.getTime() + t.windowMs - now.getTime());
  }
  if (retryAfterMs > 0) throw new SignInThrottled(Math.max(1, Math.ceil(retryAfterMs / 1000)));
  return { accountKey, clientKey };
}

export function signInSucceeded(db: Db, keys: { accountKey: string; clientKey: string }): Promise<void> {
  return signInAttemptSucceeded(db, keys.accountKey, keys.clientKey);
}

/**
 * The client's address for throttling: the last X-Forwarded-For entry (the one the trusted proxy
 * added) when the proxy is trusted, else the socket address when the server knows it. Next.js
 * route handlers do not expose the socket, and Next fills X-Forwarded-For from the client's own
 * header when present, so untrusted it is worthless: then undefined (one shared count).
 */
export function clientAddressOf(headers: Headers, trustProxy: boolean, socketAddress?: string): string | undefined {
  if (trustProxy) {
    const last = headers.get("x-forwarded-for")?.split(",").at(-1)?.trim();
    if (last) return last;
  }
  return socketAddress || undefined;
}
