import { describe, expect, it } from "vitest";
import { hostsAfter } from "./preview";

const vm = (id: string, hostId: string, vcpus: number, memoryMiB: number) => ({
  id,
  name: id,
  hostId,
  applicationId: "heat",
  state: "running",
  lockedBy: null,
  actors: [],
  vcpus,
  memoryMiB,
});

describe("hostsAfter", () => {
  it("removes the source and adds each target on its host", () => {
    const hosts = [
      { id: "pm-1", cpus: 16, memoryMiB: 32768, vmQuota: 4, status: "online", vms: [vm("heat-1", "pm-1", 4, 8192)] },
      { id: "pm-2", cpus: 8, memoryMiB: 16384, vmQuota: 4, status: "online", vms: [] },
      { id: "pm-3", cpus: 8, memoryMiB: 16384, vmQuota: 4, status: "online", vms: [] },
    ];
    const after = hostsAfter(hosts, new Set(["heat-1"]), [
      { hostId: "pm-2", resources: { vcpus: 2, memoryMiB: 4096 } },
      { hostId: "pm-2", resources: { vcpus: 2, memoryMiB: 4096 } },
    ]);
    expect(after).toEqual([
      { hostId: "pm-1", slots: 0, vmQuota: 4, vcpus: 0, cpus: 16, memoryMiB: 0, capacityMiB: 32768 },
      { hostId: "pm-2", slots: 2, vmQuota: 4, vcpus: 4, cpus: 8, memoryMiB: 8192, capacityMiB: 16384 },
    ]);
  });
});
