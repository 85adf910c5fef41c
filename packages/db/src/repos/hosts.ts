import type { Db, DbOrTx } from "../client";

export interface HostInput {
  id: string;
  uri: string;
  cpus: number;
  memoryMiB: number;
  vmQuota: number;
}

export function hostList(db: Db) {
  return db.host.findMany({ orderBy: { id: "asc" } });
}

export function hostUpsert(db: Db, h: HostInput) {
  return db.host.upsert({
    where: { id: h.id },
    create: { id: h.id, name: h.id, uri: h.uri, cpus: h.cpus, memoryMiB: h.memoryMiB, vmQuota: h.vmQuota },
    update: { uri: h.uri, cpus: h.cpus, memoryMiB: h.memoryMiB, vmQuota: h.vmQuota },
  });
}

/** Hosts with the VMs that occupy them (every VM not yet deleted counts against quota). */
export function hostUsageList(db: DbOrTx, hostIds: string[]) {
  return db.host.findMany({
    where: { id: { in: hostIds } },
    include: {
      vms: { where: { state: { not: "deleted" } }, select: { id: true, vcpus: true, memoryMiB: true, createdBy: true } },
    },
  });
}

/** Serialises capacity decisions on these hosts until the transaction ends (SELECT … FOR UPDATE). */
export async function hostLockForUpdate(tx: DbOrTx, hostIds: string[]): Promise<void> {
  const ids = [...new Set(hostIds)].sort();
  await tx.$queryRaw`SELECT id FROM hosts WHERE id = ANY(${ids}::text[]) ORDER BY id FOR UPDATE`;
}
