import type { Resources } from "@malleo/core";
import type { HostView } from "./placement";

/** Each involved host as it will be once the operation has finished (sources gone, targets placed). */
export interface HostAfter {
  hostId: string;
  slots: number;
  vmQuota: number;
  vcpus: number;
  cpus: number;
  memoryMiB: number;
  capacityMiB: number;
}

export function hostsAfter(
  hosts: HostView[],
  leaving: ReadonlySet<string>,
  placements: { hostId: string; resources: Resources }[],
): HostAfter[] {
  const involved = new Set([
    ...placements.map((p) => p.hostId),
    ...hosts.filter((h) => h.vms.some((v) => leaving.has(v.id))).map((h) => h.id),
  ]);
  return hosts
    .filter((h) => involved.has(h.id))
    .map((h) => {
      const staying = h.vms.filter((v) => !leaving.has(v.id));
      const arriving = placements.filter((p) => p.hostId === h.id).map((p) => p.resources);
      const all = [...staying, ...arriving];
      return {
        hostId: h.id,
        slots: all.length,
        vmQuota: h.vmQuota,
        vcpus: all.reduce((s, v) => s + v.vcpus, 0),
        cpus: h.cpus,
        memoryMiB: all.reduce((s, v) => s + v.memoryMiB, 0),
        capacityMiB: h.memoryMiB,
      };
    });
}
