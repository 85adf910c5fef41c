import type { Db } from "../client";

export function actorListByVms(db: Db, vmIds: string[]) {
  return db.actor.findMany({ where: { vmId: { in: vmIds } }, orderBy: { ordinal: "asc" } });
}

/** One window of a VM's actors by ordinal, with how many it holds (a VM's page). */
export async function actorPageByVm(db: Db, vmId: string, page: { offset: number; limit: number }) {
  const [items, total] = await Promise.all([
    db.actor.findMany({ where: { vmId }, orderBy: { ordinal: "asc" }, skip: page.offset, take: page.limit }),
    db.actor.count({ where: { vmId } }),
  ]);
  return { items, total };
}

export function actorListByApplication(db: Db, applicationId: string) {
  return db.actor.findMany({ where: { applicationId }, orderBy: { ordinal: "asc" } });
}

/**
 * The UANs of every actor of the applications that have an actor on `vmId`: what that VM's
 * theater may bring back when it re-registers (an actor may have moved between the
 * application's VMs just before a crash, before its row was updated).
 */
export async function actorUansPlaceableOnVm(db: Db, vmId: string): Promise<string[]> {
  // The VM's own application, not the actors recorded on it: a worker killed between a live
  // move's migration and its record finds the actor on a target where Postgres has none yet.
  const vm = await db.vm.findUnique({ where: { id: vmId }, select: { applicationId: true } });
  if (!vm?.applicationId) return [];
  const rows = await db.actor.findMany({ where: { applicationId: vm.applicationId }, select: { uan: true } });
  return rows.map((row) => row.uan);
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

export async function actorDeleteByApplication(db: Db, applicationId: string): Promise<number> {
  return (await db.actor.deleteMany({ where: { applicationId } })).count;
}
