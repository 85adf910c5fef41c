import { AppError } from "./errors";
import type { Resources } from "./resources";

export interface HostUsage {
  id: string;
  cpus: number;
  memoryMiB: number;
  vmQuota: number;
  /** VMs currently on the host that will stay there (not counting ones the operation removes). */
  vms: Resources[];
}

/**
 * Checks that every host can take the VMs an operation will place on it, after the VMs it
 * will remove are gone. Throws an AppError naming the host, the limit and what is free.
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
    const usedCpus = host.vms.reduce((s, v) => s + v.vcpus, 0);
    const usedMem = host.vms.reduce((s, v) => s + v.memoryMiB, 0);
    const needCpus = incoming.reduce((s, v) => s + v.vcpus, 0);
    const needMem = incoming.reduce((s, v) => s + v.memoryMiB, 0);
    if (usedCpus + needCpus > host.cpus) {
      throw new AppError(
        "CAPACITY_EXCEEDED",
        `host ${host.id} has ${host.cpus - usedCpus} of ${host.cpus} vCPUs free; the operation needs ${needCpus}`,
        { hostId: host.id, freeCpus: host.cpus - usedCpus, needed: needCpus },
      );
    }
    if (usedMem + needMem > host.memoryMiB) {
      throw new AppError(
        "CAPACITY_EXCEEDED",
        `host ${host.id} has ${host.memoryMiB - usedMem} of ${host.memoryMiB} MiB free; the operation needs ${needMem} MiB`,
        { hostId: host.id, freeMemoryMiB: host.memoryMiB - usedMem, needed: needMem },
      );
    }
  }
}
