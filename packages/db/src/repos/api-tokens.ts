import type { Db } from "../client";

const tokenView = {
  id: true,
  name: true,
  createdAt: true,
  lastUsedAt: true,
  revokedAt: true,
  user: { select: { id: true, name: true, role: true } },
} as const;

export function apiTokenCreate(db: Db, t: { userId: string; name: string; tokenHash: string }) {
  return db.apiToken.create({ data: t, select: tokenView });
}

export function apiTokenList(db: Db) {
  return db.apiToken.findMany({ select: tokenView, orderBy: { createdAt: "desc" } });
}

/** The token's user, if the token exists, is not revoked and its user is enabled. */
export async function apiTokenGetValid(db: Db, tokenHash: string) {
  const t = await db.apiToken.findUnique({
    where: { tokenHash },
    include: { user: { select: { id: true, name: true, role: true, disabledAt: true } } },
  });
  if (!t || t.revokedAt || t.user.disabledAt) return null;
  return t;
}

export function apiTokenTouch(db: Db, id: string) {
  return db.apiToken.update({ where: { id }, data: { lastUsedAt: new Date() } });
}

export function apiTokenRevoke(db: Db, id: string) {
  return db.apiToken.updateMany({ where: { id, revokedAt: null }, data: { revokedAt: new Date() } });
}
