import type { Db, DbOrTx } from "../client";
import { rethrowUniqueViolation } from "../errors";

export interface HostInput {
  id: string;
  uri: string;
  cpus: number;
  memoryMiB: number;
  vmQuota: number;
}

export function hostCount(db: Db) {
  return db.host.count();
}

export function hostGet(db: Db, id: string) {
  return db.host.findUnique({ where: { id } });
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

export type HostUsage = Awaited<ReturnType<typeof hostUsageList>>[number];

/** Serialises capacity decisions on these hosts until the transaction ends (SELECT … FOR UPDATE). */
export async function hostLockForUpdate(tx: DbOrTx, hostIds: string[]): Promise<void> {
  const ids = [...new Set(hostIds)].sort();
  await tx.$queryRaw`SELECT id FROM hosts WHERE id = ANY(${ids}::text[]) ORDER BY id FOR UPDATE`;
}

/** VMs that occupy a host: every VM not yet deleted (failed ones too: their domain may still exist). */
const OCCUPYING = { state: { not: "deleted" as const } };
const USAGE_SELECT = { id: true, name: true, state: true, vcpus: true, memoryMiB: true } as const;

/** Every host with the VMs occupying it, for the hosts page and `hosts.list`. */
export function hostListWithUsage(db: Db) {
  return db.host.findMany({ orderBy: { id: "asc" }, include: { vms: { where: OCCUPYING, select: USAGE_SELECT } } });
}

/** One host with the VMs occupying it, or null. */
export function hostGetWithUsage(db: Db, id: string) {
  return db.host.findUnique({ where: { id }, include: { vms: { where: OCCUPYING, select: USAGE_SELECT } } });
}

/** Hosts already registered with this libvirt URI. */
export function hostListByUri(db: DbOrTx, uri: string) {
  return db.host.findMany({ where: { uri }, select: { id: true } });
}

/**
 * Registers a host from the UI or the API: its URI, VM quota and overcommit ratios. Capacity
 * starts at 0 (nothing can be placed on it) until the worker has read libvirt's nodeGetInfo.
 * Throws UniqueViolation when a host of that name exists.
 */
export function hostCreate(
  db: DbOrTx,
  h: { id: string; uri: string; vmQuota: number; cpuOvercommit: number; memoryOvercommit: number },
) {
  return db.host
    .create({
      data: {
        id: h.id,
        name: h.id,
        uri: h.uri,
        vmQuota: h.vmQuota,
        cpuOvercommit: h.cpuOvercommit,
        memoryOvercommit: h.memoryOvercommit,
        cpus: 0,
        memoryMiB: 0,
        status: "unreachable",
        statusReason: "registered; waiting for the worker to connect",
      },
    })
    .catch(rethrowUniqueViolation);
}

type HostWithVms = Awaited<ReturnType<typeof hostListWithUsage>>[number];

/**
 * Changes a host's quota and overcommit ratios under a lock on its row, after `check` (a pure
 * rule from core) has accepted the change against the VMs on it now. Undefined when no such host.
 */
export async function hostUpdateSettings(
  db: Db,
  id: string,
  next: { vmQuota?: number; cpuOvercommit?: number; memoryOvercommit?: number },
  check: (host: HostWithVms) => void,
) {
  return db.$transaction(async (tx) => {
    await hostLockForUpdate(tx, [id]);
    const host = await tx.host.findUnique({ where: { id }, include: { vms: { where: OCCUPYING, select: USAGE_SELECT } } });
    if (!host) return undefined;
    check(host);
    return tx.host.update({ where: { id }, data: next });
  });
}

/**
 * Removes a host under a lock on its row once `check` has accepted the VMs still on it. The rows
 * of its deleted VMs go with it (operations keep their plans); its reconciliation findings too.
 * Returns false when no such host.
 */
export async function hostRemove(db: Db, id: string, check: (occupying: HostWithVms["vms"]) => void): Promise<boolean> {
  return db.$transaction(async (tx) => {
    await hostLockForUpdate(tx, [id]);
    const host = await tx.host.findUnique({ where: { id }, include: { vms: { where: OCCUPYING, select: USAGE_SELECT } } });
    if (!host) return false;
    check(host.vms);
    await tx.vm.deleteMany({ where: { hostId: id, state: "deleted" } });
    await tx.reconcileFinding.deleteMany({ where: { hostId: id } });
    await tx.host.delete({ where: { id } });
    return true;
  });
}
