import { AppError } from "@malleo/core";
import type { Db } from "../client";
import { userNotFound } from "./users";

const tokenView = {
  id: true,
  name: true,
  createdAt: true,
  lastUsedAt: true,
  revokedAt: true,
  expiresAt: true,
  createdBy: true,
  user: { select: { id: true, name: true, role: true } },
} as const;

/**
 * Creates a token acting as `t.userId`. Refused with NOT_FOUND when no such user exists, and for
 * a disabled user (whose tokens are refused at sign-in, so it could never be used).
 */
export async function apiTokenCreate(
  db: Db,
  t: { userId: string; name: string; tokenHash: string; expiresAt?: Date | null; createdBy?: string | null },
) {
  return db.$transaction(async (tx) => {
    // FOR SHARE: a concurrent disable waits for this token, then revokes it with the others.
    const [user] = await tx.$queryRaw<{ name: string; disabled_at: Date | null }[]>`
      SELECT name, disabled_at FROM users WHERE id = ${t.userId}::uuid FOR SHARE`;
    if (!user) throw userNotFound(t.userId);
    if (user.disabled_at)
      throw new AppError("INVALID_INPUT", `user ${user.name} is disabled; a token acting as them would be refused`, {
        userId: t.userId,
      });
    return tx.apiToken.create({ data: t, select: tokenView });
  });
}

export function apiTokenList(db: Db) {
  return db.apiToken.findMany({ select: tokenView, orderBy: { createdAt: "desc" } });
}

/** The token's user, if the token exists, is neither revoked nor expired, and its user is enabled. */
export async function apiTokenGetValid(db: Db, tokenHash: string, now = new Date()) {
  const t = await db.apiToken.findUnique({
    where: { tokenHash },
    include: { user: { select: { id: true, name: true, role: true, disabledAt: true } } },
  });
  if (!t || t.revokedAt || t.user.disabledAt || (t.expiresAt && t.expiresAt <= now)) return null;
  return t;
}

export function apiTokenTouch(db: Db, id: string) {
  return db.apiToken.update({ where: { id }, data: { lastUsedAt: new Date() } });
}

/** Revokes the token; `revoked` is false when it was revoked already. NOT_FOUND when no such token exists. */
export async function apiTokenRevoke(db: Db, id: string): Promise<{ revoked: boolean }> {
  const r = await db.apiToken.updateMany({ where: { id, revokedAt: null }, data: { revokedAt: new Date() } });
  if (r.count === 1) return { revoked: true };
  if (!(await db.apiToken.findUnique({ where: { id }, select: { id: true } })))
    throw new AppError("NOT_FOUND", `API token ${id} does not exist; the Admin page lists the tokens`, { tokenId: id });
  return { revoked: false };
}
