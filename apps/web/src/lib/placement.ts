import { AppError, checkHostsCanTake, divideResources, placeableCapacity, sumResources, type Resources } from "@malleo/core";
import { formatMiB } from "./format";

/**
 * The dialogs' preview of what the server will decide: the same core rules (resource division,
 * quotas, capacity), run in the browser so that invalid choices are explained before submit.
 * The server checks again; this is advice, not authority.
 */

export interface HostView {
  id: string;
  cpus: number;
  memoryMiB: number;
  vmQuota: number;
  /** Overcommit ratios (default 1): placement may use capacity × ratio. */
  cpuOvercommit?: number;
  memoryOvercommit?: number;
  status: string;
  vms: VmView[];
}

export interface VmView extends Resources {
  id: string;
  name: string;
  hostId: string;
  applicationId: string;
  state: string;
  lockedBy: string | null;
  actors: readonly unknown[];
}

export interface HostRoom {
  slots: number;
  vcpus: number;
  memoryMiB: number;
}

/** What a host has free once the VMs in `leaving` are gone. */
export function hostRoom(host: HostView, leaving: ReadonlySet<string>): HostRoom {
  const staying = host.vms.filter((v) => !leaving.has(v.id));
  const limit = placeableCapacity(host);
  return {
    slots: host.vmQuota - staying.length,
    vcpus: limit.vcpus - staying.reduce((s, v) => s + v.vcpus, 0),
    memoryMiB: limit.memoryMiB - staying.reduce((s, v) => s + v.memoryMiB, 0),
  };
}

/** "pm-2 · free 4 slots, 8 vCPU, 16 GiB" (what is free before this operation places anything). */
export function hostOptionLabel(host: HostView, leaving: ReadonlySet<string>): string {
  const room = hostRoom(host, leaving);
  const state = host.status === "online" ? "" : ` (${host.status})`;
  return `${host.id}${state} · free ${room.slots} ${room.slots === 1 ? "slot" : "slots"}, ${room.vcpus} vCPU, ${formatMiB(room.memoryMiB)}`;
}

function fits(room: HostRoom, r: Resources): boolean {
  return room.slots >= 1 && room.vcpus >= r.vcpus && room.memoryMiB >= r.memoryMiB;
}

/** Resources of each new VM, or the reason the split is impossible. */
export function splitShares(source: Resources, count: number): { shares: Resources[]; problem: string | null } {
  try {
    return { shares: divideResources(source, count), problem: null };
  } catch (e) {
    return { shares: [], problem: AppError.is(e) ? e.message : String(e) };
  }
}

/**
 * Default targets: each new VM goes to the host with the most room left at that point (free
 * slots, then vCPUs), preferring hosts other than the source's so that a split spreads load.
 */
export function defaultSplitTargets(hosts: HostView[], source: VmView, count: number): string[] {
  const { shares } = splitShares(source, count);
  const rooms = new Map(hosts.map((h) => [h.id, hostRoom(h, new Set([source.id]))]));
  const candidates = hosts.filter((h) => h.status === "online");
  const targets: string[] = [];
  for (let i = 0; i < count; i++) {
    const share = shares[i] ?? { vcpus: 1, memoryMiB: 0 };
    const ranked = [...candidates].sort((a, b) => {
      const ra = rooms.get(a.id)!;
      const rb = rooms.get(b.id)!;
      return (
        Number(fits(rb, share)) - Number(fits(ra, share)) ||
        rb.slots - ra.slots ||
        Number(a.id !== source.hostId ? 0 : 1) - Number(b.id !== source.hostId ? 0 : 1) ||
        rb.vcpus - ra.vcpus ||
        a.id.localeCompare(b.id)
      );
    });
    const pick = ranked[0] ?? hosts[0];
    if (!pick) break;
    targets.push(pick.id);
    const room = rooms.get(pick.id);
    if (room)
      rooms.set(pick.id, { slots: room.slots - 1, vcpus: room.vcpus - share.vcpus, memoryMiB: room.memoryMiB - share.memoryMiB });
  }
  return targets;
}

/** Every reason, one sentence each, that the server would refuse these placements. */
export function placementProblems(
  hosts: HostView[],
  leaving: ReadonlySet<string>,
  placements: { hostId: string; resources: Resources }[],
): string[] {
  const problems: string[] = [];
  for (const hostId of new Set(placements.map((p) => p.hostId))) {
    const host = hosts.find((h) => h.id === hostId);
    if (!host) {
      problems.push(`host ${hostId} is not registered`);
      continue;
    }
    if (host.status !== "online") problems.push(`host ${host.id} is ${host.status}`);
    try {
      checkHostsCanTake(
        [{ ...host, vms: host.vms.filter((v) => !leaving.has(v.id)) }],
        placements.filter((p) => p.hostId === hostId),
      );
    } catch (e) {
      problems.push(AppError.is(e) ? e.message : String(e));
    }
  }
  return problems;
}

function vmBlocker(vm: VmView): string | null {
  if (vm.lockedBy) return `VM ${vm.name} is held by operation ${vm.lockedBy.slice(0, 8)}`;
  if (vm.state !== "running") return `VM ${vm.name} is ${vm.state}; only a running VM can be changed`;
  return null;
}

/** Why a VM cannot be split right now, or null. */
export function splitBlocker(vm: VmView): string | null {
  return vmBlocker(vm) ?? (vm.vcpus < 2 ? `VM ${vm.name} has 1 vCPU and cannot be divided` : null);
}

export function splitProblems(hosts: HostView[], source: VmView, targetHostIds: string[]): string[] {
  const blocker = splitBlocker(source);
  const { shares, problem } = splitShares(source, targetHostIds.length);
  if (blocker || problem) return [blocker, problem].filter((p): p is string => p !== null);
  return placementProblems(
    hosts,
    new Set([source.id]),
    targetHostIds.map((hostId, i) => ({ hostId, resources: shares[i]! })),
  );
}

/** Why a VM cannot take part in a merge right now, or null. */
export function mergeBlocker(vm: VmView): string | null {
  return vmBlocker(vm);
}

export function mergeProblems(hosts: HostView[], sources: VmView[], targetHostId: string): string[] {
  if (sources.length < 2) return ["select at least 2 VMs of the same application"];
  const problems = sources.map(mergeBlocker).filter((p): p is string => p !== null);
  const apps = [...new Set(sources.map((s) => s.applicationId))];
  if (apps.length > 1) problems.push(`VMs of different applications (${apps.join(", ")}) cannot be merged`);
  if (problems.length > 0) return problems;
  if (!targetHostId) return ["choose a target host"];
  return placementProblems(hosts, new Set(sources.map((s) => s.id)), [
    { hostId: targetHostId, resources: sumResources(sources) },
  ]);
}

/** The merge target a person most likely wants: a source's host that can take it, else the roomiest. */
export function defaultMergeTarget(hosts: HostView[], sources: VmView[]): string {
  if (hosts.length === 0) return "";
  const leaving = new Set(sources.map((s) => s.id));
  const total = sumResources(sources);
  const online = hosts.filter((h) => h.status === "online");
  const canTake = online.filter((h) => fits(hostRoom(h, leaving), total));
  const sourceHosts = new Set(sources.map((s) => s.hostId));
  return (
    canTake.find((h) => sourceHosts.has(h.id))?.id ??
    [...canTake].sort((a, b) => hostRoom(b, leaving).vcpus - hostRoom(a, leaving).vcpus)[0]?.id ??
    online[0]?.id ??
    hosts[0]!.id
  );
}
