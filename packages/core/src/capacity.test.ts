import { describe, expect, it } from "vitest";
import { checkHostsCanTake, placeableCapacity } from "./capacity";

const host = { id: "pm-2", cpus: 8, memoryMiB: 16384, vmQuota: 2, vms: [{ vcpus: 2, memoryMiB: 4096 }] };

describe("checkHostsCanTake", () => {
  it("accepts placements within quota, CPUs and memory", () => {
    expect(() => checkHostsCanTake([host], [{ hostId: "pm-2", resources: { vcpus: 6, memoryMiB: 12288 } }])).not.toThrow();
  });
  it("names the host and its free slots when the VM quota is exhausted", () => {
    expect(() =>
      checkHostsCanTake(
        [host],
        [
          { hostId: "pm-2", resources: { vcpus: 1, memoryMiB: 512 } },
          { hostId: "pm-2", resources: { vcpus: 1, memoryMiB: 512 } },
        ],
      ),
    ).toThrow("host pm-2 has 1 of 2 VM slots free; the operation needs 2");
  });
  it("names free vCPUs when CPU capacity would be exceeded", () => {
    expect(() => checkHostsCanTake([host], [{ hostId: "pm-2", resources: { vcpus: 7, memoryMiB: 512 } }])).toThrow(
      "host pm-2 has 6 of 8 vCPUs free; the operation needs 7",
    );
  });
  it("names free memory when memory would be exceeded", () => {
    expect(() => checkHostsCanTake([host], [{ hostId: "pm-2", resources: { vcpus: 1, memoryMiB: 12289 } }])).toThrow(
      "host pm-2 has 12288 of 16384 MiB free; the operation needs 12289 MiB",
    );
  });
});

describe("overcommit ratios", () => {
  const busy = { id: "pm-3", cpus: 4, memoryMiB: 8192, vmQuota: 8, vms: [{ vcpus: 4, memoryMiB: 4096 }] };

  it("places on capacity × ratio: a split refused at ratio 1 fits at ratio 2", () => {
    const placement = [{ hostId: "pm-3", resources: { vcpus: 2, memoryMiB: 2048 } }];
    expect(() => checkHostsCanTake([busy], placement)).toThrow("host pm-3 has 0 of 4 vCPUs free; the operation needs 2");
    expect(() => checkHostsCanTake([{ ...busy, cpuOvercommit: 2 }], placement)).not.toThrow();
  });

  it("names the overcommitted limit and what is free when even that is exceeded", () => {
    expect(() =>
      checkHostsCanTake([{ ...busy, cpuOvercommit: 1.5 }], [{ hostId: "pm-3", resources: { vcpus: 3, memoryMiB: 256 } }]),
    ).toThrow("host pm-3 has 2 of 6 vCPUs (4 CPUs × overcommit 1.5) free; the operation needs 3");
    expect(() =>
      checkHostsCanTake([{ ...busy, memoryOvercommit: 1.25 }], [{ hostId: "pm-3", resources: { vcpus: 0, memoryMiB: 7000 } }]),
    ).toThrow("host pm-3 has 6144 of 10240 MiB (8192 MiB × overcommit 1.25) free; the operation needs 7000 MiB");
  });

  it("never overcommits the VM quota", () => {
    const full = { ...busy, vmQuota: 1, cpuOvercommit: 16, memoryOvercommit: 4 };
    expect(() => checkHostsCanTake([full], [{ hostId: "pm-3", resources: { vcpus: 1, memoryMiB: 256 } }])).toThrow(
      "host pm-3 has 0 of 1 VM slots free; the operation needs 1",
    );
  });

  it("rounds the scaled capacity down to whole vCPUs and MiB, without floating-point loss", () => {
    expect(placeableCapacity({ cpus: 10, memoryMiB: 1000, cpuOvercommit: 1.1, memoryOvercommit: 1.15 })).toEqual({
      vcpus: 11,
      memoryMiB: 1150,
    });
    expect(placeableCapacity({ cpus: 3, memoryMiB: 1001, cpuOvercommit: 1.5, memoryOvercommit: 1.5 })).toEqual({
      vcpus: 4,
      memoryMiB: 1501,
    });
    expect(placeableCapacity({ cpus: 8, memoryMiB: 4096 })).toEqual({ vcpus: 8, memoryMiB: 4096 });
  });
});
