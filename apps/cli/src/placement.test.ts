import { describe, expect, it } from "vitest";
import { UsageError } from "./commands";
import { mergeRequest, PlacementRefused, splitRequest, targetLines, type TopologyForPlacement } from "./placement";

const vm = (name: string, hostId: string, extra: Record<string, unknown> = {}) => ({
  id: `id-${name}`,
  name,
  hostId,
  applicationId: "heat",
  state: "running",
  lockedBy: null,
  vcpus: 4,
  memoryMiB: 8192,
  actorCount: 64,
  ...extra,
});
const host = (id: string, vms: ReturnType<typeof vm>[], extra: Record<string, unknown> = {}) => ({
  id,
  cpus: 8,
  memoryMiB: 16384,
  vmQuota: 4,
  status: "online",
  statusReason: null,
  vms,
  ...extra,
});
const topo = (): TopologyForPlacement => ({
  hosts: [
    host("pm-1", [vm("heat-1", "pm-1"), vm("heat-2", "pm-1", { vcpus: 2, memoryMiB: 4096 })]),
    host("pm-2", []),
    host("pm-3", [], { status: "unreachable", statusReason: "connection refused" }),
  ],
});

describe("malleo split", () => {
  it("takes the hosts named, or chooses the console's default targets for --count", () => {
    expect(splitRequest(topo(), "heat-1", { hosts: "pm-1,pm-2" }).targetHostIds).toEqual(["pm-1", "pm-2"]);
    const r = splitRequest(topo(), "heat-1", { count: "3" });
    // pm-3 is unreachable: never a default; pm-2 (more slots, not the source's host) first.
    expect(r.targetHostIds).toEqual(["pm-2", "pm-2", "pm-1"]);
    expect(targetLines(r.preview).split("\n")).toEqual([
      "  #1 on pm-2: 2 vCPU, 2731 MiB, 22 actors",
      "  #2 on pm-2: 1 vCPU, 2731 MiB, 21 actors",
      "  #3 on pm-1: 1 vCPU, 2730 MiB, 21 actors",
    ]);
  });

  it("refuses before sending what the server would refuse, with the server's sentence", () => {
    expect(() => splitRequest(topo(), "heat-1", { hosts: "pm-2,pm-3" })).toThrow(PlacementRefused);
    expect(() => splitRequest(topo(), "heat-1", { hosts: "pm-2,pm-3" })).toThrow(
      /host pm-3 is unreachable \(connection refused\); no VM can be created on it/,
    );
  });

  it("explains a mistyped count or an unknown VM", () => {
    expect(() => splitRequest(topo(), "heat-1", { count: "one" })).toThrow(UsageError);
    expect(() => splitRequest(topo(), "heat-1", { hosts: "pm-1,pm-2", count: "3" })).toThrow(/does not match the 2 hosts/);
    expect(() => splitRequest(topo(), "nope", { count: "2" })).toThrow(/no VM named nope/);
  });
});

describe("malleo merge", () => {
  it("merges onto the host named, or onto a source's host that can take it", () => {
    expect(mergeRequest(topo(), ["heat-1", "heat-2"], "pm-2").targetHostId).toBe("pm-2");
    expect(mergeRequest(topo(), ["heat-1", "heat-2"], undefined)).toMatchObject({
      vmIds: ["id-heat-1", "id-heat-2"],
      targetHostId: "pm-1",
    });
  });

  it("refuses a merge onto a host too small, naming what is free", () => {
    expect(() => mergeRequest({ hosts: [...topo().hosts, host("pm-4", [], { cpus: 2 })] }, ["heat-1", "heat-2"], "pm-4")).toThrow(
      "host pm-4 has 2 of 2 vCPUs free; the operation needs 6",
    );
  });
});
