import { describe, expect, it } from "vitest";
import { checkHostsCanTake } from "./capacity";

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
