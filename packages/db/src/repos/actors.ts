import type { Db } from "../client";

export function actorListByVms(db: Db, vmIds: string[]) {
  return db.actor.findMany({ where: { vmId: { in: vmIds } }, orderBy: { ordinal: "asc" } });
}

export function actorListByApplication(db: Db, applicationId: string) {
  return db.actor.findMany({ where: { applicationId }, orderBy: { ordinal: "asc" } });
}

export async function actorMove(db: Db, uans: string[], vmId: string): Promise<number> {
  const r = await db.actor.updateMany({ where: { uan: { in: uans } }, data: { vmId } });
  return r.count;
}

export function actorCreateMany(
  db: Db,
  actors: { uan: string; applicationId: string; vmId: string; behavior: string; ordinal: number }[],
) {
  return db.actor.createMany({ data: actors, skipDuplicates: true });
}
