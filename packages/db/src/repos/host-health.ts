import type { Db } from "../client";
import type { ReconcileFindingKind } from "../generated/prisma/client";

/** Records whether the worker reaches a host, why not, and which accelerator its guests use. */
export function hostStatusSet(
  db: Db,
  hostId: string,
  status: { online: boolean; reason?: string | null; accelerator?: string | null },
) {
  return db.host.update({
    where: { id: hostId },
    data: {
      status: status.online ? "online" : "unreachable",
      statusReason: status.reason ?? null,
      ...(status.accelerator !== undefined ? { accelerator: status.accelerator } : {}),
    },
  });
}

export interface ReconcileFindingInput {
  kind: ReconcileFindingKind;
  domainName: string;
  vmId: string | null;
  detail: string;
}

/**
 * Replaces a host's open findings with this pass's: new ones are opened, seen ones refreshed
 * (reopened if they had been resolved), and open ones not seen again are marked resolved.
 */
export async function reconcileFindingsReplace(db: Db, hostId: string, findings: ReconcileFindingInput[], now = new Date()) {
  await db.$transaction(async (tx) => {
    for (const f of findings)
      await tx.reconcileFinding.upsert({
        where: { hostId_kind_domainName: { hostId, kind: f.kind, domainName: f.domainName } },
        create: {
          hostId,
          kind: f.kind,
          domainName: f.domainName,
          vmId: f.vmId,
          detail: f.detail,
          firstSeenAt: now,
          lastSeenAt: now,
        },
        update: { vmId: f.vmId, detail: f.detail, lastSeenAt: now, resolvedAt: null },
      });
    await tx.reconcileFinding.updateMany({
      where: {
        hostId,
        resolvedAt: null,
        ...(findings.length ? { NOT: findings.map((f) => ({ kind: f.kind, domainName: f.domainName })) } : {}),
      },
      data: { resolvedAt: now },
    });
  });
}

/** Open findings (all hosts, or one), newest first: what the UI shows. */
export function reconcileFindingsOpen(db: Db, hostId?: string) {
  return db.reconcileFinding.findMany({
    where: { resolvedAt: null, ...(hostId ? { hostId } : {}) },
    orderBy: [{ hostId: "asc" }, { firstSeenAt: "desc" }],
  });
}

/** The capacity libvirt reports for a host (nodeGetInfo), written by the worker. */
export function hostCapacitySet(db: Db, hostId: string, capacity: { cpus: number; memoryMiB: number }) {
  return db.host.update({ where: { id: hostId }, data: { cpus: capacity.cpus, memoryMiB: capacity.memoryMiB } });
}

/**
 * Registers a host from configuration: its URI, VM quota and, when given, overcommit ratios. A
 * new host starts with no capacity (nothing can be placed on it) until the worker has read its
 * nodeGetInfo.
 */
export function hostRegister(
  db: Db,
  host: { id: string; uri: string; vmQuota: number; cpuOvercommit?: number; memoryOvercommit?: number },
) {
  const ratios = {
    ...(host.cpuOvercommit !== undefined ? { cpuOvercommit: host.cpuOvercommit } : {}),
    ...(host.memoryOvercommit !== undefined ? { memoryOvercommit: host.memoryOvercommit } : {}),
  };
  return db.host.upsert({
    where: { id: host.id },
    create: { id: host.id, name: host.id, uri: host.uri, vmQuota: host.vmQuota, cpus: 0, memoryMiB: 0, ...ratios },
    update: { uri: host.uri, vmQuota: host.vmQuota, ...ratios },
  });
}
