import { describe, expect, it } from "vitest";
import { defaultMergeTarget, defaultSplitTargets, mergeProblems, splitProblems, type HostView, type VmView } from "./placement";

function vm(name: string, hostId: string, vcpus: number, memoryMiB: number, extra: Partial<VmView> = {}): VmView {
  return {
    id: `id-${name}`,
    name,
    hostId,
    applicationId: "heat",
    state: "running",
    lockedBy: null,
    actors: [],
    vcpus,
    memoryMiB,
    ...extra,
  };
}

function host(id: string, vms: VmView[], cap: Partial<HostView> = {}): HostView {
  return { id, cpus: 8, memoryMiB: 16384, vmQuota: 4, status: "online", vms, ...cap };
}

const heat1 = vm("heat-1", "pm-1", 4, 8192);
const demo = () => [host("pm-1", [heat1], { cpus: 16, memoryMiB: 32768 }), host("pm-2", []), host("pm-3", [])];

describe("defaultSplitTargets", () => {
  it("spreads new VMs over the other hosts first", () => {
    expect(defaultSplitTargets(demo(), heat1, 2)).toEqual(["pm-2", "pm-3"]);
  });

  it("uses the source's host too once the others have taken one each", () => {
    expect(defaultSplitTargets(demo(), heat1, 3)).toEqual(["pm-2", "pm-3", "pm-1"]);
    expect(defaultSplitTargets(demo(), heat1, 4)).toEqual(["pm-2", "pm-3", "pm-1", "pm-2"]);
  });

  it("avoids a host that is full", () => {
    const hosts = [
      host("pm-1", [heat1]),
      host("pm-2", [vm("a", "pm-2", 1, 256), vm("b", "pm-2", 1, 256), vm("c", "pm-2", 1, 256), vm("d", "pm-2", 1, 256)]),
    ];
    expect(defaultSplitTargets(hosts, heat1, 2)).toEqual(["pm-1", "pm-1"]);
  });
});

describe("splitProblems", () => {
  it("accepts the demo split", () => {
    expect(splitProblems(demo(), heat1, ["pm-2", "pm-3"])).toEqual([]);
  });

  it("explains a host without free slots with the server's own words", () => {
    const full = host("pm-2", [vm("a", "pm-2", 1, 256), vm("b", "pm-2", 1, 256), vm("c", "pm-2", 1, 256)]);
    const problems = splitProblems([demo()[0]!, full], heat1, ["pm-2", "pm-2"]);
    expect(problems).toEqual(["host pm-2 has 1 of 4 VM slots free; the operation needs 2"]);
  });

  it("explains a division below the memory floor", () => {
    const small = vm("small", "pm-1", 4, 768);
    expect(splitProblems([host("pm-1", [small])], small, ["pm-1", "pm-1", "pm-1", "pm-1"])[0]).toMatch(/below the 256 MiB floor/);
  });

  it("refuses a locked VM", () => {
    const locked = { ...heat1, lockedBy: "0b1c2d3e-0000-4000-8000-000000000000" };
    expect(splitProblems(demo(), locked, ["pm-2", "pm-3"])).toEqual(["VM heat-1 is held by operation 0b1c2d3e"]);
  });
});

describe("mergeProblems / defaultMergeTarget", () => {
  const a = vm("heat-a", "pm-2", 2, 4096);
  const b = vm("heat-b", "pm-3", 2, 4096);
  const hosts = [host("pm-1", [], { cpus: 16, memoryMiB: 32768 }), host("pm-2", [a]), host("pm-3", [b])];

  it("needs two VMs of one application", () => {
    expect(mergeProblems(hosts, [a], "pm-1")).toEqual(["select at least 2 VMs of the same application"]);
    expect(mergeProblems(hosts, [a, { ...b, applicationId: "crawler" }], "pm-1")).toEqual([
      "VMs of different applications (heat, crawler) cannot be merged",
    ]);
  });

  it("counts the sources as leaving their hosts", () => {
    expect(mergeProblems(hosts, [a, b], "pm-2")).toEqual([]);
  });

  it("explains a host too small for the sum", () => {
    const tiny = host("pm-4", [], { cpus: 2 });
    expect(mergeProblems([...hosts, tiny], [a, b], "pm-4")).toEqual(["host pm-4 has 2 of 2 vCPUs free; the operation needs 4"]);
  });

  it("suggests a source's host that can take the merged VM", () => {
    expect(defaultMergeTarget(hosts, [a, b])).toBe("pm-2");
  });
});

describe("overcommit in the preview", () => {
  it("explains a split the host's capacity refuses at ratio 1 and accepts it at ratio 2, as the server does", () => {
    const busy = vm("busy", "pm-2", 6, 1024);
    expect(splitProblems([host("pm-1", [heat1]), host("pm-2", [busy])], heat1, ["pm-2", "pm-2"])).toEqual([
      "host pm-2 has 2 of 8 vCPUs free; the operation needs 4",
    ]);
    expect(splitProblems([host("pm-1", [heat1]), host("pm-2", [busy], { cpuOvercommit: 2 })], heat1, ["pm-2", "pm-2"])).toEqual(
      [],
    );
  });
});
