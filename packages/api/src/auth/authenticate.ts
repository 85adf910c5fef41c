import {
  apiTokenGetValid,
  apiTokenTouch,
  sessionCreate,
  sessionDelete,
  sessionGetValid,
  sessionTouch,
  userChangePassword,
  userGetByNameWithSecret,
  type Db,
} from "@malleo/db";
import { TRPCError } from "@trpc/server";
import type { Role } from "./roles";
import { hashSecret, newSecret } from "./secrets";
import { hashPassword, verifyPassword } from "./passwords";
import { countSignInAttempt, signInSucceeded, type SignInThrottle } from "./throttle";

export const SESSION_COOKIE = "malleo_session";
/** Sessions slide: each use within this window extends them by the window. */
export const SESSION_TTL_MS = 12 * 60 * 60 * 1000;
/** However much it is used, a session ends this long after sign-in. */
export const SESSION_MAX_AGE_MS = 7 * 24 * 60 * 60 * 1000;
const TOUCH_EVERY_MS = 60_000;

export interface AuthUser {
  id: string;
  name: string;
  role: Role;
  /** How the request proved who it is. */
  via: "session" | "token";
}

function cookieValue(header: string | null, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return undefined;
}

/** The user behind a session cookie value, or null. */
export async function userForSessionToken(db: Db, token: string | undefined): Promise<AuthUser | null> {
  if (!token) return null;
  const hash = hashSecret(token);
  const s = await sessionGetValid(db, hash);
  if (!s) return null;
  const endsAt = s.createdAt.getTime() + SESSION_MAX_AGE_MS;
  if (Date.now() >= endsAt) {
    await sessionDelete(db, hash);
    return null;
  }
  if (Date.now() - s.lastSeenAt.getTime() > TOUCH_EVERY_MS) {
    await sessionTouch(db, hash, new Date(Math.min(Date.now() + SESSION_TTL_MS, endsAt)));
  }
  return { id: s.user.id, name: s.user.name, role: s.user.role, via: "session" };
}

/** Who sent this request: `Authorization: Bearer <API token>` or the session cookie; null when neither is valid. */
export async function authenticate(db: Db, headers: Headers): Promise<AuthUser | null> {
  const auth = headers.get("authorization");
  if (auth?.toLowerCase().startsWith("bearer ")) {
    const t = await apiTokenGetValid(db, hashSecret(auth.slice(7).trim()));
    if (!t) return null;
    await apiTokenTouch(db, t.id);
    return { id: t.user.id, name: t.user.name, role: t.user.role, via: "token" };
  }
  return userForSessionToken(db, cookieValue(headers.get("cookie"), SESSION_COOKIE));
}

export function sessionTokenFromHeaders(headers: Headers): string | undefined {
  return cookieValue(headers.get("cookie"), SESSION_COOKIE);
}

/**
 * Checks the password and opens a session; the refusal never says which half was wrong. The
 * attempt is counted first (throttle.ts): past the limit it is refused with 429 before any
 * password is hashed.
 */
export async function signIn(
  db: Db,
  name: string,
  password: string,
  opts: { clientAddress?: string; throttle?: SignInThrottle } = {},
): Promise<{ user: AuthUser; token: string; expiresAt: Date }> {
  const keys = await countSignInAttempt(db, name, opts.clientAddress, opts.throttle);
  const u = await userGetByNameWithSecret(db, name);
  // Verify against a dummy hash for unknown names too, so timing does not reveal who exists.
  const ok = await verifyPassword(password, u?.passwordHash ?? DUMMY_HASH);
  if (!u || !ok || u.disabledAt) throw new TRPCError({ code: "UNAUTHORIZED", message: "wrong user name or password" });
  await signInSucceeded(db, keys);
  const token = newSecret("mls");
  const expiresAt = new Date(Date.now() + SESSION_TTL_MS);
  await sessionCreate(db, { tokenHash: hashSecret(token), userId: u.id, expiresAt });
  return { user: { id: u.id, name: u.name, role: u.role, via: "session" }, token, expiresAt };
}

/**
 * The signed-in user changes their own password: the current one is required, and checking it
 * counts against the account's sign-in throttle, so a borrowed session cannot guess at it.
 * Every other session of the user ends.
 */
export async function changePassword(
  db: Db,
  user: AuthUser,
  current: string,
  next: string,
  opts: { clientAddress?: string; throttle?: SignInThrottle; sessionToken?: string } = {},
): Promise<void> {
  const keys = await countSignInAttempt(db, user.name, opts.clientAddress, opts.throttle);
  const u = await userGetByNameWithSecret(db, user.name);
  if (!u || !(await verifyPassword(current, u.passwordHash)))
    throw new TRPCError({ code: "FORBIDDEN", message: "the current password is wrong; nothing was changed" });
  await signInSucceeded(db, keys);
  await userChangePassword(
    db,
    u.id,
    await hashPassword(next),
    user.via === "session" && opts.sessionToken ? hashSecret(opts.sessionToken) : undefined,
  );
}

export async function signOut(db: Db, token: string | undefined): Promise<void> {
  if (token) await sessionDelete(db, hashSecret(token));
}

export function sessionCookie(token: string, expiresAt: Date, secure: boolean): string {
  return `${SESSION_COOKIE}=${encodeURIComponent(token)}; Path=/; HttpOnly; SameSite=Lax; Expires=${expiresAt.toUTCString()}${secure ? "; Secure" : ""}`;
}

export function clearedSessionCookie(): string {
  return `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0`;
}

// A valid scrypt hash of a random password nobody knows.
const DUMMY_HASH = "scrypt$32768$8$1$k6OWM3mvFJ1eBxuEk+t9iQ==$EjTow87T3kOmDWDuvYYvjR5m+vnqU7qqrByOw4VLbRw=";
