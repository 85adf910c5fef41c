import { placeableCapacity } from "../capacity";
import { AppError } from "../errors";
import { divideResources, sumResources, type Resources } from "../resources";
import { applicationBlocker, contiguousGroups, vmBlocker, type PlanApplication, type PlanVm } from "./plan";
import { placementProblems, problemOf, type Placement, type PlacementHost, type PlacementProblem } from "./problems";
import { hostChoices, type HostChoice } from "./targets";

/** A VM as the preview needs it: the plan's fields and how many actors it hosts. */
export interface PreviewVm extends PlanVm {
  actorCount: number;
}

export interface PreviewTarget extends Resources {
  hostId: string;
  actors: number;
}

/** A host involved in the operation as it will be once it has finished (sources gone, targets placed). */
export interface HostAfter {
  hostId: string;
  slots: number;
  vmQuota: number;
  vcpus: number;
  /** What placement may use: capacity × overcommit. */
  limitVcpus: number;
  memoryMiB: number;
  limitMemoryMiB: number;
}

/** What the server will decide for this request, before it is sent (the dialogs, the CLI). */
export interface PlacementPreview {
  kind: "split" | "merge";
  targets: PreviewTarget[];
  /** For each target, the hosts to offer it: free counting the other targets on the same host. */
  choices: HostChoice[][];
  /** A split's division as it really is: `even` only when every target gets the same vCPUs and memory. */
  division: { even: boolean } | null;
  hostsAfter: HostAfter[];
  /** Every reason the server would refuse the request, with its code; empty when it would accept it. */
  problems: PlacementProblem[];
}

/** Why a VM cannot be split right now (its application degraded, held, not running, a single vCPU), or null. */
export function splitBlocker(
  vm: Pick<PlanVm, "id" | "name" | "state" | "lockedBy" | "vcpus">,
  application?: PlanApplication | null,
): PlacementProblem | null {
  const blocker = applicationBlocker(application) ?? vmBlocker(vm);
  if (blocker) return problemOf(blocker);
  return vm.vcpus < 2
    ? { code: "SPLIT_TOO_SMALL", message: `VM ${vm.name} has 1 vCPU and cannot be divided`, details: { vmId: vm.id } }
    : null;
}

/** Why a VM cannot take part in a merge right now (its application degraded, held, not running), or null. */
export function mergeBlocker(
  vm: Pick<PlanVm, "id" | "name" | "state" | "lockedBy">,
  application?: PlanApplication | null,
): PlacementProblem | null {
  const blocker = applicationBlocker(application) ?? vmBlocker(vm);
  return blocker ? problemOf(blocker) : null;
}

function hostsAfter(
  hosts: readonly PlacementHost[],
  leaving: ReadonlySet<string>,
  placements: readonly Placement[],
): HostAfter[] {
  const involved = new Set([
    ...placements.map((p) => p.hostId),
    ...hosts.filter((h) => h.vms.some((v) => leaving.has(v.id))).map((h) => h.id),
  ]);
  return hosts
    .filter((h) => involved.has(h.id))
    .map((h) => {
      const all = [
        ...h.vms.filter((v) => !leaving.has(v.id)),
        ...placements.filter((p) => p.hostId === h.id).map((p) => p.resources),
      ];
      const limit = placeableCapacity(h);
      return {
        hostId: h.id,
        slots: all.length,
        vmQuota: h.vmQuota,
        vcpus: all.reduce((s, v) => s + v.vcpus, 0),
        limitVcpus: limit.vcpus,
        memoryMiB: all.reduce((s, v) => s + v.memoryMiB, 0),
        limitMemoryMiB: limit.memoryMiB,
      };
    });
}

function choicesPerTarget(
  hosts: readonly PlacementHost[],
  leaving: ReadonlySet<string>,
  placements: readonly Placement[],
): HostChoice[][] {
  return placements.map((_, i) =>
    hostChoices(
      hosts,
      leaving,
      placements.filter((__, j) => j !== i),
    ),
  );
}

/**
 * Split preview: the division of the source among the targets, the actors each receives
 * (contiguous runs), the hosts after, and every reason the server would refuse it — the same
 * rules, in the same order, as `planSplit` + `checkPlanPlacement` on the server.
 */
export function previewSplit(input: {
  hosts: readonly PlacementHost[];
  source: PreviewVm;
  targetHostIds: readonly string[];
  /** The source's application: a degraded one is refused first. */
  application?: PlanApplication | null;
}): PlacementPreview {
  const { hosts, source, targetHostIds } = input;
  const problems: PlacementProblem[] = [];
  const degraded = applicationBlocker(input.application);
  if (degraded) problems.push(problemOf(degraded));
  const blocker = vmBlocker(source);
  if (blocker) problems.push(problemOf(blocker));
  let shares: Resources[] = [];
  try {
    shares = divideResources(source, targetHostIds.length);
  } catch (e) {
    if (!AppError.is(e)) throw e;
    problems.push(problemOf(e));
  }
  const actorsPer = contiguousGroups(Array.from({ length: source.actorCount }), Math.max(targetHostIds.length, 1)).map(
    (g) => g.length,
  );
  const leaving = new Set([source.id]);
  const placements = shares.map((resources, i) => ({ hostId: targetHostIds[i]!, resources }));
  if (shares.length > 0) problems.push(...placementProblems(hosts, leaving, placements, { requireReachable: true }));
  const first = shares[0];
  return {
    kind: "split",
    targets: targetHostIds.map((hostId, i) => ({
      hostId,
      vcpus: shares[i]?.vcpus ?? 0,
      memoryMiB: shares[i]?.memoryMiB ?? 0,
      actors: actorsPer[i] ?? 0,
    })),
    choices:
      shares.length > 0 ? choicesPerTarget(hosts, leaving, placements) : targetHostIds.map(() => hostChoices(hosts, leaving)),
    division: first ? { even: shares.every((s) => s.vcpus === first.vcpus && s.memoryMiB === first.memoryMiB) } : null,
    hostsAfter: shares.length > 0 ? hostsAfter(hosts, leaving, placements) : [],
    problems,
  };
}

/**
 * Merge preview: the combined target, the hosts after, and every reason the server would refuse
 * it — the same rules, in the same order, as `planMerge` + `checkPlanPlacement`.
 */
export function previewMerge(input: {
  hosts: readonly PlacementHost[];
  sources: readonly PreviewVm[];
  targetHostId: string;
  /** The sources' application (when they share one): a degraded one is refused. */
  application?: PlanApplication | null;
}): PlacementPreview {
  const { hosts, sources, targetHostId } = input;
  const problems: PlacementProblem[] = [];
  if (sources.length < 2)
    problems.push({ code: "MERGE_INVALID", message: "a merge needs at least 2 VMs", details: { count: sources.length } });
  const apps = [...new Set(sources.map((s) => s.applicationId))];
  if (apps.length > 1)
    problems.push({
      code: "MERGE_INVALID",
      message: `VMs of different applications (${apps.join(", ")}) cannot be merged`,
      details: { applications: apps },
    });
  const degraded = applicationBlocker(input.application);
  if (degraded) problems.push(problemOf(degraded));
  for (const s of sources) {
    const blocker = mergeBlocker(s);
    if (blocker) problems.push(blocker);
  }
  const total = sumResources([...sources]);
  const leaving = new Set(sources.map((s) => s.id));
  const placements = targetHostId ? [{ hostId: targetHostId, resources: total }] : [];
  if (!targetHostId) problems.push({ code: "INVALID_INPUT", message: "choose a target host" });
  else if (sources.length > 0) problems.push(...placementProblems(hosts, leaving, placements, { requireReachable: true }));
  return {
    kind: "merge",
    targets: [{ hostId: targetHostId, ...total, actors: sources.reduce((s, v) => s + v.actorCount, 0) }],
    choices: [hostChoices(hosts, leaving)],
    division: null,
    hostsAfter: sources.length > 0 ? hostsAfter(hosts, leaving, placements) : [],
    problems,
  };
}
