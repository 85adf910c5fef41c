import type { Db } from "../client";

const sessionUser = { select: { id: true, name: true, role: true, disabledAt: true } } as const;

export function sessionCreate(db: Db, s: { tokenHash: string; userId: string; expiresAt: Date }) {
  return db.session.create({ data: s });
}

/** The session and its user, if it exists and has not expired. */
export async function sessionGetValid(db: Db, tokenHash: string, now = new Date()) {
  const s = await db.session.findUnique({ where: { tokenHash }, include: { user: sessionUser } });
  if (!s || s.expiresAt <= now || s.user.disabledAt) return null;
  return s;
}

/** Slides the expiry forward; called at most once a minute per session. */
export function sessionTouch(db: Db, tokenHash: string, expiresAt: Date) {
  return db.session.updateMany({ where: { tokenHash }, data: { lastSeenAt: new Date(), expiresAt } });
}

export function sessionDelete(db: Db, tokenHash: string) {
  return db.session.deleteMany({ where: { tokenHash } });
}

export function sessionDeleteExpired(db: Db, now = new Date()) {
  return db.session.deleteMany({ where: { expiresAt: { lte: now } } });
}
