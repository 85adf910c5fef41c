import type { Db } from "../client";
import type { Prisma } from "../generated/prisma/client";

export function applicationGet(db: Db, id: string) {
  return db.application.findUnique({ where: { id } });
}

export function applicationList(db: Db) {
  return db.application.findMany({ orderBy: { id: "asc" } });
}

export function applicationUpsert(db: Db, app: { id: string; kind: string; config: Prisma.InputJsonValue }) {
  return db.application.upsert({ where: { id: app.id }, create: app, update: {} });
}

/** The bundle version the application runs (an upgrade, or its rollback). */
export function applicationSetBundleVersion(db: Db, id: string, bundleVersion: string) {
  return db.application.update({ where: { id }, data: { bundleVersion } });
}

export function applicationSetIteration(db: Db, id: string, iteration: number) {
  return db.application.update({ where: { id }, data: { iteration } });
}
