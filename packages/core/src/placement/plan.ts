import { AppError } from "../errors";
import { divideResources, sumResources, type Resources } from "../resources";

/**
 * Assigns actors (ordered by ordinal) to `n` targets in contiguous runs, so that neighbours in
 * a tightly coupled application (heat slabs) stay together. Sizes differ by at most one.
 */
export function contiguousGroups<T>(items: readonly T[], n: number): T[][] {
  const groups: T[][] = [];
  const base = Math.floor(items.length / n);
  const rest = items.length % n;
  let at = 0;
  for (let i = 0; i < n; i++) {
    const size = base + (i < rest ? 1 : 0);
    groups.push(items.slice(at, at + size));
    at += size;
  }
  return groups;
}

export interface PlanVm extends Resources {
  id: string;
  name: string;
  hostId: string;
  applicationId: string;
  state: string;
  /** The operation holding the VM, if any (read with the VM; the lock itself is taken atomically). */
  lockedBy?: string | null;
}
export interface PlanActor {
  uan: string;
  vmId: string;
  ordinal: number;
}
export interface PlannedTarget extends Resources {
  /** Fixed when the operation is accepted, so that a resumed workflow creates exactly these VMs. */
  id: string;
  name: string;
  hostId: string;
  actors: string[];
}
export interface OperationPlan {
  kind: "split" | "merge" | "deploy" | "stop" | "start" | "delete" | "upgrade";
  applicationId: string;
  sources: { id: string; name: string; hostId: string }[];
  targets: PlannedTarget[];
}

/** Why this VM cannot take part in an operation now (held by another, or not running), or null. */
export function vmBlocker(vm: Pick<PlanVm, "id" | "name" | "state" | "lockedBy">): AppError | null {
  if (vm.lockedBy)
    return new AppError("VM_LOCKED", `VM ${vm.name} is held by operation ${vm.lockedBy}; wait for it to finish`, {
      vmId: vm.id,
      operationId: vm.lockedBy,
    });
  if (vm.state !== "running")
    return new AppError("VM_NOT_RUNNING", `VM ${vm.name} is ${vm.state}; only a running VM can be split or merged`, {
      vmId: vm.id,
      state: vm.state,
    });
  return null;
}

/** An application as a split or merge of its VMs sees it (its recovery state). */
export interface PlanApplication {
  id: string;
  status: string;
  /** What was lost and from which checkpoint it can come back (set by the worker with `degraded`). */
  statusReason?: string | null;
  /** False: nothing restores it until an operator does (applications.setAutoRecovery). */
  autoRecovery?: boolean;
}

/**
 * Why no split or merge of this application's VMs can be accepted now, or null. A stopped
 * application must be started first. A degraded
 * application has lost actors: its Checkpoint step would fail, and an operation holding its VMs
 * delays the restore that brings them back.
 */
export function applicationBlocker(app: PlanApplication | null | undefined): AppError | null {
  if (app?.status === "stopped") {
    // Its actors hold where they are: a split or merge would move actors nobody runs, and its
    // ready barrier would wait on actors that never reach a safe point.
    return new AppError("APPLICATION_STOPPED", `application ${app.id} is stopped; start it first (applications.start)`, {
      applicationId: app.id,
      status: app.status,
    });
  }
  if (!app || app.status !== "degraded") return null;
  const what = app.statusReason ?? "some of its actors were lost with their theater";
  const next =
    app.autoRecovery === false
      ? "automatic recovery is off for it: restore it from a checkpoint first (applications.restore)"
      : "restore it from a checkpoint first (applications.restore) or wait for automatic recovery";
  return new AppError("APPLICATION_DEGRADED", `application ${app.id} is degraded: ${what}; ${next}`, {
    applicationId: app.id,
    status: app.status,
  });
}

function requireRunning(vm: PlanVm): void {
  const blocker = vmBlocker(vm);
  if (blocker) throw blocker;
}

/** Split plan: resources divided as evenly as whole vCPUs and MiB allow (divideResources), actors in contiguous runs by ordinal. */
export function planSplit(
  source: PlanVm,
  actors: PlanActor[],
  targetHostIds: string[],
  targetIdentity: (i: number) => { id: string; name: string },
  application?: PlanApplication | null,
): OperationPlan {
  const degraded = applicationBlocker(application);
  if (degraded) throw degraded;
  requireRunning(source);
  const shares = divideResources(source, targetHostIds.length);
  const ordered = [...actors].sort((a, b) => a.ordinal - b.ordinal);
  const groups = contiguousGroups(ordered, targetHostIds.length);
  return {
    kind: "split",
    applicationId: source.applicationId,
    sources: [{ id: source.id, name: source.name, hostId: source.hostId }],
    targets: shares.map((r, i) => ({
      ...r,
      ...targetIdentity(i),
      hostId: targetHostIds[i]!,
      actors: (groups[i] ?? []).map((a) => a.uan),
    })),
  };
}

/** Merge plan: resources summed, every actor to the one target, slab order kept. */
export function planMerge(
  sources: PlanVm[],
  actors: PlanActor[],
  targetHostId: string,
  target: { id: string; name: string },
  application?: PlanApplication | null,
): OperationPlan {
  if (sources.length < 2) throw new AppError("MERGE_INVALID", "a merge needs at least 2 VMs", { count: sources.length });
  const apps = new Set(sources.map((s) => s.applicationId));
  if (apps.size > 1) {
    throw new AppError("MERGE_INVALID", `VMs of different applications (${[...apps].join(", ")}) cannot be merged`, {
      applications: [...apps],
    });
  }
  const degraded = applicationBlocker(application);
  if (degraded) throw degraded;
  sources.forEach(requireRunning);
  const total = sumResources(sources);
  return {
    kind: "merge",
    applicationId: sources[0]!.applicationId,
    sources: sources.map((s) => ({ id: s.id, name: s.name, hostId: s.hostId })),
    targets: [
      {
        ...total,
        ...target,
        hostId: targetHostId,
        actors: [...actors].sort((a, b) => a.ordinal - b.ordinal).map((a) => a.uan),
      },
    ],
  };
}
