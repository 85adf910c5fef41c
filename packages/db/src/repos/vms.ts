import type { Db, DbOrTx } from "../client";
import type { VmState } from "../generated/prisma/client";

export function vmGet(db: Db, id: string) {
  return db.vm.findUnique({ where: { id } });
}

export function vmListByIds(db: Db, ids: string[]) {
  return db.vm.findMany({ where: { id: { in: ids } } });
}

/** VMs that should exist on hypervisors (what the VM Manager rebuilds and reconciles). */
export function vmListLive(db: Db) {
  return db.vm.findMany({ where: { state: { in: ["provisioning", "running", "deleting"] } }, orderBy: { createdAt: "asc" } });
}

export function vmCreate(
  db: DbOrTx,
  vm: {
    id: string;
    name: string;
    hostId: string;
    applicationId: string;
    vcpus: number;
    memoryMiB: number;
    createdBy?: string;
    lockedBy?: string;
    state?: VmState;
  },
) {
  return db.vm.upsert({ where: { id: vm.id }, create: vm, update: {} });
}

export function vmSetState(db: Db, id: string, state: VmState) {
  return db.vm.update({ where: { id }, data: { state, deletedAt: state === "deleted" ? new Date() : null } });
}
