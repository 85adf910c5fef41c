import type { Db } from "../client";
import type { HostStatus, VmState } from "../generated/prisma/client";

/** Past this many actors in total the topology carries counts and ordinal ranges, not one row per actor. */
export const ACTOR_DETAIL_LIMIT = 2000;

interface VmRow {
  id: string;
  name: string;
  hostId: string;
  applicationId: string;
  vcpus: number;
  memoryMiB: number;
  state: VmState;
  lockedBy: string | null;
  /** The operation that created this VM (a split's or merge's target), null for a VM created otherwise. */
  createdBy: string | null;
  createdAt: Date;
  actorCount: number;
  firstOrdinal: number | null;
  lastOrdinal: number | null;
}

/**
 * Hosts → live VMs (with actor counts, and the actors themselves while there are few) → the
 * latest CPU sample of each VM. Each VM's actor count and ordinal range are kept on its row by
 * triggers on actors, so 100,000 actors cost nothing here: no GROUP BY, no 100,000 objects.
 */
export async function topologySummary(db: Db) {
  const [hosts, vms, applications, cpuTable] = await Promise.all([
    db.$queryRaw<
      {
        id: string;
        name: string;
        cpus: number;
        memoryMiB: number;
        vmQuota: number;
        cpuOvercommit: number;
        memoryOvercommit: number;
        status: HostStatus;
        statusReason: string | null;
      }[]
    >`
      SELECT id, name, cpus, memory_mib AS "memoryMiB", vm_quota AS "vmQuota", cpu_overcommit AS "cpuOvercommit",
             memory_overcommit AS "memoryOvercommit", status, status_reason AS "statusReason" FROM hosts ORDER BY id`,
    db.$queryRaw<VmRow[]>`
      SELECT v.id::text, v.name, v.host_id AS "hostId", v.application_id AS "applicationId", v.vcpus, v.memory_mib AS "memoryMiB",
             v.state, v.locked_by::text AS "lockedBy", v.created_by::text AS "createdBy", v.created_at AS "createdAt",
             v.actor_count AS "actorCount", v.first_ordinal AS "firstOrdinal", v.last_ordinal AS "lastOrdinal"
        FROM vms v
       WHERE v.state <> 'deleted'
       ORDER BY v.created_at, v.name`,
    db.application.findMany({
      orderBy: { id: "asc" },
      select: { id: true, kind: true, iteration: true, updatedAt: true, status: true, statusReason: true, autoRecovery: true },
    }),
    db.$queryRaw<{ t: string | null }[]>`SELECT to_regclass('public.vm_cpu_samples')::text AS t`,
  ]);
  const totalActors = vms.reduce((s, v) => s + v.actorCount, 0);
  const detailed = totalActors <= ACTOR_DETAIL_LIMIT;
  const actors = detailed
    ? await db.actor.findMany({
        where: { vmId: { in: vms.map((v) => v.id) } },
        orderBy: { ordinal: "asc" },
        select: { uan: true, ordinal: true, behavior: true, vmId: true },
      })
    : [];
  const cpu = cpuTable[0]?.t
    ? await db.$queryRaw<{ vmId: string; cpuPercent: number }[]>`
        SELECT DISTINCT ON (vm_id) vm_id::text AS "vmId", cpu_percent::float8 AS "cpuPercent"
          FROM vm_cpu_samples WHERE at > now() - interval '2 minutes' ORDER BY vm_id, at DESC`
    : [];
  const cpuByVm = new Map(cpu.map((c) => [c.vmId, c.cpuPercent]));
  const actorsByVm = new Map<string, { uan: string; ordinal: number; behavior: string }[]>();
  for (const a of actors) {
    const list = actorsByVm.get(a.vmId) ?? [];
    list.push({ uan: a.uan, ordinal: a.ordinal, behavior: a.behavior });
    actorsByVm.set(a.vmId, list);
  }
  const vmsByHost = new Map<
    string,
    (VmRow & { cpuPercent: number | null; actors: { uan: string; ordinal: number; behavior: string }[] })[]
  >();
  for (const v of vms) {
    const list = vmsByHost.get(v.hostId) ?? [];
    list.push({ ...v, cpuPercent: cpuByVm.get(v.id) ?? null, actors: actorsByVm.get(v.id) ?? [] });
    vmsByHost.set(v.hostId, list);
  }
  return {
    hosts: hosts.map((h) => ({ ...h, vms: vmsByHost.get(h.id) ?? [] })),
    applications,
    actorsDetailed: detailed,
    totalActors,
  };
}
