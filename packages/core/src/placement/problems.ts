import { checkHostsCanTake, placeableCapacity, type HostUsage } from "../capacity";
import { AppError, type ErrorCode } from "../errors";
import type { Resources } from "../resources";
import type { OperationPlan } from "./plan";

/** A host as placement sees it: capacity, quota, status, and every VM on it that is not deleted. */
export interface PlacementHost extends Omit<HostUsage, "vms"> {
  status: string;
  statusReason?: string | null;
  vms: (Resources & { id: string; createdBy?: string | null })[];
}

/** One reason an operation would be refused, with the AppError code the server refuses it with. */
export interface PlacementProblem {
  code: ErrorCode;
  message: string;
  /** The host it is about, when it is about one. */
  hostId?: string;
  /** The AppError's details (what is free, what is needed). */
  details?: Record<string, unknown>;
}

export interface Placement {
  hostId: string;
  resources: Resources;
}

export function problemOf(e: AppError): PlacementProblem {
  const hostId = typeof e.details.hostId === "string" ? e.details.hostId : undefined;
  return { code: e.code, message: e.message, ...(hostId ? { hostId } : {}), details: e.details };
}

/** What a host has free once the VMs in `leaving` are gone: VM slots, vCPUs, MiB (capacity × overcommit). */
export interface HostRoom {
  slots: number;
  vcpus: number;
  memoryMiB: number;
}

export function hostRoom(host: PlacementHost, leaving: ReadonlySet<string>, arriving: readonly Resources[] = []): HostRoom {
  const staying = host.vms.filter((v) => !leaving.has(v.id));
  const limit = placeableCapacity(host);
  const all = [...staying, ...arriving];
  return {
    slots: host.vmQuota - all.length,
    vcpus: limit.vcpus - all.reduce((s, v) => s + v.vcpus, 0),
    memoryMiB: limit.memoryMiB - all.reduce((s, v) => s + v.memoryMiB, 0),
  };
}

export function roomFits(room: HostRoom, r: Resources): boolean {
  return room.slots >= 1 && room.vcpus >= r.vcpus && room.memoryMiB >= r.memoryMiB;
}

/** The refusal for placing on a host that is not online: one sentence, with libvirt's reason. */
export function hostUnreachable(host: Pick<PlacementHost, "id" | "status" | "statusReason">): AppError {
  return new AppError(
    "HOST_UNREACHABLE",
    `host ${host.id} is ${host.status}${host.statusReason ? ` (${host.statusReason})` : ""}; no VM can be created on it until it is back — choose another target host`,
    { hostId: host.id, status: host.status },
  );
}

/**
 * Every reason these placements cannot be made, in the order the server refuses them: hosts not
 * registered, then (with `requireReachable`) hosts not online, then per host its VM quota, vCPUs
 * and memory — counting the VMs that stay (not `leaving`) and every placement on that host
 * together. A host that is not online gets no capacity sentence: what it has free is unknown.
 */
export function placementProblems(
  hosts: readonly PlacementHost[],
  leaving: ReadonlySet<string>,
  placements: readonly Placement[],
  opts: { requireReachable?: boolean; ownTargetsOf?: string } = {},
): PlacementProblem[] {
  const ids = [...new Set(placements.map((p) => p.hostId))];
  const known = ids.flatMap((id) => hosts.find((h) => h.id === id) ?? []);
  const missing: PlacementProblem[] = ids
    .filter((id) => !known.some((h) => h.id === id))
    .map((id) => ({ code: "NOT_FOUND", message: `host ${id} is not registered`, hostId: id, details: { hostId: id } }));
  const down = known.filter((h) => h.status !== "online");
  const unreachable = opts.requireReachable ? down.map((h) => problemOf(hostUnreachable(h))) : [];
  const capacity = known
    .filter((h) => !(opts.requireReachable && h.status !== "online"))
    .flatMap((h) => {
      const staying = h.vms.filter(
        (v) => !leaving.has(v.id) && (opts.ownTargetsOf === undefined || v.createdBy !== opts.ownTargetsOf),
      );
      try {
        checkHostsCanTake([{ ...h, vms: staying }], placements.filter((p) => p.hostId === h.id) as Placement[]);
        return [];
      } catch (e) {
        if (AppError.is(e)) return [problemOf(e)];
        throw e;
      }
    });
  return [...missing, ...unreachable, ...capacity];
}

/**
 * The server's check of a plan against the target hosts as read (submit, the validate step, and
 * the reservation in Provision): throws the first of `placementProblems` as an AppError.
 */
export function checkPlanPlacement(
  hosts: readonly PlacementHost[],
  plan: OperationPlan,
  opts: { requireReachable?: boolean; ownTargetsOf?: string } = {},
): void {
  const problems = placementProblems(
    hosts,
    new Set(plan.sources.map((s) => s.id)),
    plan.targets.map((t) => ({ hostId: t.hostId, resources: { vcpus: t.vcpus, memoryMiB: t.memoryMiB } })),
    opts,
  );
  const first = problems[0];
  if (first) throw new AppError(first.code, first.message, first.details ?? {});
}
