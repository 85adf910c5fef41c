import { AppError } from "./errors";
import type { Resources } from "./resources";

export interface HostUsage {
  id: string;
  /** Physical capacity, as libvirt reports it (nodeGetInfo). */
  cpus: number;
  memoryMiB: number;
  vmQuota: number;
  /** Overcommit ratios (default 1.0): placement may use cpus × cpuOvercommit and memoryMiB × memoryOvercommit. */
  cpuOvercommit?: number;
  memoryOvercommit?: number;
  /** VMs currently on the host that will stay there (not counting ones the operation removes). */
  vms: Resources[];
}

/** What placement may use on a host: its capacity times its overcommit ratios, in whole vCPUs and MiB. */
export function placeableCapacity(host: Pick<HostUsage, "cpus" | "memoryMiB" | "cpuOvercommit" | "memoryOvercommit">): Resources {
  // Rounded to 6 decimals first so that e.g. 10 × 1.1 (= 11.000000000000002) is 11, not 11.
  const scaled = (n: number, ratio = 1) => Math.floor(Math.round(n * ratio * 1e6) / 1e6);
  return { vcpus: scaled(host.cpus, host.cpuOvercommit), memoryMiB: scaled(host.memoryMiB, host.memoryOvercommit) };
}

/** "16 vCPUs" or "16 vCPUs (8 CPUs × overcommit 2)": the limit as a person can check it. */
function limitText(total: number, unit: string, physical: number, physicalUnit: string, ratio = 1): string {
  return ratio === 1 ? `${total} ${unit}` : `${total} ${unit} (${physical} ${physicalUnit} × overcommit ${ratio})`;
}

/** What the VMs on a host use: slots, vCPUs, memory. */
export function hostUse(vms: Resources[]): { vms: number; vcpus: number; memoryMiB: number } {
  return {
    vms: vms.length,
    vcpus: vms.reduce((s, v) => s + v.vcpus, 0),
    memoryMiB: vms.reduce((s, v) => s + v.memoryMiB, 0),
  };
}

/**
 * Checks that every host can take the VMs an operation will place on it, after the VMs it
 * will remove are gone, with CPU and memory capacity scaled by the host's overcommit ratios.
 * Throws an AppError naming the host, the limit and what is free.
 */
export function checkHostsCanTake(hosts: HostUsage[], placements: { hostId: string; resources: Resources }[]): void {
  for (const host of hosts) {
    const incoming = placements.filter((p) => p.hostId === host.id).map((p) => p.resources);
    if (incoming.length === 0) continue;
    const freeSlots = host.vmQuota - host.vms.length;
    if (incoming.length > freeSlots) {
      throw new AppError(
        "QUOTA_EXCEEDED",
        `host ${host.id} has ${Math.max(freeSlots, 0)} of ${host.vmQuota} VM slots free; the operation needs ${incoming.length}`,
        { hostId: host.id, free: Math.max(freeSlots, 0), quota: host.vmQuota, needed: incoming.length },
      );
    }
    const limit = placeableCapacity(host);
    const used = hostUse(host.vms);
    const need = hostUse(incoming);
    if (used.vcpus + need.vcpus > limit.vcpus) {
      const free = limit.vcpus - used.vcpus;
      throw new AppError(
        "CAPACITY_EXCEEDED",
        `host ${host.id} has ${free} of ${limitText(limit.vcpus, "vCPUs", host.cpus, "CPUs", host.cpuOvercommit)} free; the operation needs ${need.vcpus}`,
        { hostId: host.id, freeCpus: free, limitCpus: limit.vcpus, cpuOvercommit: host.cpuOvercommit ?? 1, needed: need.vcpus },
      );
    }
    if (used.memoryMiB + need.memoryMiB > limit.memoryMiB) {
      const free = limit.memoryMiB - used.memoryMiB;
      throw new AppError(
        "CAPACITY_EXCEEDED",
        `host ${host.id} has ${free} of ${limitText(limit.memoryMiB, "MiB", host.memoryMiB, "MiB", host.memoryOvercommit)} free; the operation needs ${need.memoryMiB} MiB`,
        {
          hostId: host.id,
          freeMemoryMiB: free,
          limitMemoryMiB: limit.memoryMiB,
          memoryOvercommit: host.memoryOvercommit ?? 1,
          needed: need.memoryMiB,
        },
      );
    }
  }
}
