import { assertVmTransition, vmAllowedFrom, AppError, type VmState as LifecycleVmState } from "@malleo/core";
import type { Db, DbOrTx } from "../client";
import { publishEvent } from "../events";
import type { VmState } from "../generated/prisma/client";
import { hostLockForUpdate, hostUsageList, type HostUsage } from "./hosts";

/** Fails to compile when core's VM lifecycle and the Prisma enum name different states. */
type VmStatesMatchSchema = [VmState, LifecycleVmState] extends [LifecycleVmState, VmState] ? true : never;
const vmStatesMatchSchema: VmStatesMatchSchema = true;
void vmStatesMatchSchema;

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

export interface VmInput {
  id: string;
  name: string;
  hostId: string;
  applicationId: string;
  vcpus: number;
  memoryMiB: number;
  createdBy?: string;
  lockedBy?: string;
  state?: VmState;
}

export function vmCreate(db: DbOrTx, vm: VmInput) {
  return db.vm.upsert({ where: { id: vm.id }, create: vm, update: {} });
}

/**
 * Records VM rows on hosts in one transaction with the capacity decision: the hosts' rows are
 * locked (SELECT … FOR UPDATE), `check` sees what occupies them now and may refuse by
 * throwing, then the rows are upserted (idempotent for a resumed workflow).
 */
export async function vmReserve(db: Db, hostIds: string[], check: (hosts: HostUsage[]) => void, vms: VmInput[]) {
  const ids = [...new Set(hostIds)];
  await db.$transaction(async (tx) => {
    await hostLockForUpdate(tx, ids);
    check(await hostUsageList(tx, ids));
    for (const vm of vms) await vmCreate(tx, vm);
  });
}

/**
 * Moves a VM to `to` by compare-and-swap: `UPDATE … WHERE state IN (…)` over the states from
 * which the lifecycle table (packages/core) allows `to`, or over `from` to narrow them (each must
 * be allowed). Publishes a topology event when it changed; returns false, changing nothing,
 * when the VM was in none of them (a resumed step finds it there already).
 */
export async function vmTransition(db: Db, id: string, to: VmState, extra: { from?: VmState[] } = {}): Promise<boolean> {
  for (const f of extra.from ?? []) assertVmTransition(f, to);
  const from = extra.from ?? vmAllowedFrom(to);
  if (from.length === 0) throw new AppError("INTERNAL", `no VM state leads to ${to}`, { to });
  const r = await db.vm.updateMany({
    where: { id, state: { in: from } },
    data: { state: to, deletedAt: to === "deleted" ? new Date() : null },
  });
  if (to === "deleted") await forgetTheaterSecrets(db, id);
  if (r.count === 0) return false;
  await publishEvent(db, { type: "topology" });
  return true;
}

/**
 * A deleted VM's theater can never prove a secret again: its digests (theaterSecretsSave) go
 * with it. Only once the row says deleted, so a resumed step that finds it deleted already
 * forgets them too, and a VM still alive keeps them.
 */
async function forgetTheaterSecrets(db: Db, id: string): Promise<void> {
  if ((await db.vm.count({ where: { id, state: "deleted" } })) === 0) return;
  await db.clusterKey.deleteMany({ where: { name: `theater-secrets:${id}` } });
}
