import { AppError } from "@malleo/core";
import type { Db } from "../client";
import { rethrowUniqueViolation } from "../errors";
import type { UserRole } from "../generated/prisma/client";

/** The refusal for a user id that names no user (Prisma's P2025 "record not found" otherwise ends as a 500). */
export function userNotFound(id: string): AppError {
  return new AppError("NOT_FOUND", `user ${id} does not exist; the Admin page lists the users`, { userId: id });
}

function orUserNotFound(id: string) {
  return (e: unknown): never => {
    if ((e as { code?: unknown }).code === "P2025") throw userNotFound(id);
    throw e;
  };
}

const publicUser = { id: true, name: true, role: true, createdAt: true, createdBy: true, disabledAt: true } as const;

export function userCount(db: Db) {
  return db.user.count();
}

export function userList(db: Db) {
  return db.user.findMany({ select: publicUser, orderBy: { name: "asc" } });
}

/** With the password hash: only for signing in. */
export function userGetByNameWithSecret(db: Db, name: string) {
  return db.user.findUnique({ where: { name } });
}

/** Throws UniqueViolation when a user of that name exists. */
export function userCreate(db: Db, u: { name: string; role: UserRole; passwordHash: string; createdBy?: string }) {
  return db.user.create({ data: u, select: publicUser }).catch(rethrowUniqueViolation);
}

/** Creates the user only when no user exists at all (the first admin); returns null otherwise. */
export async function userCreateFirst(db: Db, u: { name: string; role: UserRole; passwordHash: string }) {
  return db.$transaction(async (tx) => {
    // Serialises concurrent starters: only one of them sees an empty table.
    await tx.$executeRaw`LOCK TABLE "users" IN SHARE ROW EXCLUSIVE MODE`;
    if ((await tx.user.count()) > 0) return null;
    return tx.user.create({ data: { ...u, createdBy: "npm start" }, select: publicUser });
  });
}

export function userSetRole(db: Db, id: string, role: UserRole) {
  return db.user.update({ where: { id }, data: { role }, select: publicUser }).catch(orUserNotFound(id));
}

export function userSetPassword(db: Db, id: string, passwordHash: string) {
  return db.user.update({ where: { id }, data: { passwordHash }, select: publicUser }).catch(orUserNotFound(id));
}

/** A new password for the user; every session of theirs ends except `keepSessionHash` (the one that asked). */
export function userChangePassword(db: Db, id: string, passwordHash: string, keepSessionHash?: string) {
  return db
    .$transaction(async (tx) => {
      const u = await tx.user.update({ where: { id }, data: { passwordHash }, select: publicUser });
      await tx.session.deleteMany({ where: { userId: id, ...(keepSessionHash ? { tokenHash: { not: keepSessionHash } } : {}) } });
      return u;
    })
    .catch(orUserNotFound(id));
}

/** Re-enables a disabled user (their old sessions and tokens stay ended). */
export function userEnable(db: Db, id: string) {
  return db.user.update({ where: { id }, data: { disabledAt: null }, select: publicUser }).catch(orUserNotFound(id));
}

export async function userDisable(db: Db, id: string) {
  return db
    .$transaction(async (tx) => {
      const u = await tx.user.update({ where: { id }, data: { disabledAt: new Date() }, select: publicUser });
      await tx.session.deleteMany({ where: { userId: id } });
      await tx.apiToken.updateMany({ where: { userId: id, revokedAt: null }, data: { revokedAt: new Date() } });
      return u;
    })
    .catch(orUserNotFound(id));
}
