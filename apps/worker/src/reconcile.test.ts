import { describe, expect, it } from "vitest";
import { diffHost, type LiveVmView } from "./reconcile";

const vm = (over: Partial<LiveVmView>): LiveVmView => ({
  id: "vm-1",
  name: "heat-1",
  hostId: "pm-1",
  applicationId: "heat",
  vcpus: 2,
  memoryMiB: 512,
  state: "running",
  lockedBy: null,
  ...over,
});
const dom = (name: string, vmId: string | undefined, active = true) => ({
  name,
  active,
  metadata: (vmId ? { vmId } : {}) as Record<string, string>,
});

describe("diffHost", () => {
  it("finds nothing when domains and VMs agree", () => {
    expect(diffHost("pm-1", [dom("heat-1", "vm-1")], [vm({})])).toEqual([]);
  });

  it("reports a Malleo domain without a live VM as an orphan, naming where Postgres places its VM", () => {
    const f = diffHost(
      "pm-1",
      [dom("heat-1", "vm-1"), dom("old", "vm-9"), dom("moved", "vm-2")],
      [vm({}), vm({ id: "vm-2", name: "x", hostId: "pm-2" })],
    );
    expect(f.map((x) => [x.kind, x.domainName])).toEqual([
      ["orphan", "old"],
      ["orphan", "moved"],
    ]);
    expect(f[1]!.detail).toContain("pm-2");
  });

  it("reports a running VM without a running domain as missing", () => {
    const f = diffHost("pm-1", [dom("b", "vm-2", false)], [vm({}), vm({ id: "vm-2", name: "b" })]);
    expect(f.map((x) => [x.kind, x.domainName, x.vmId])).toEqual([
      ["missing", "heat-1", "vm-1"],
      ["missing", "b", "vm-2"],
    ]);
    expect(f[1]!.detail).toContain("shut off");
  });

  it("does not judge VMs an operation holds, nor Malleo's probe and benchmark domains", () => {
    const f = diffHost(
      "pm-1",
      [dom("malleo-kvm-probe-1", undefined), dom("malleo-bench-one", "x"), dom("target", "vm-3")],
      [vm({ lockedBy: "op-1" }), vm({ id: "vm-3", name: "t2", hostId: "pm-1", state: "provisioning", lockedBy: "op-1" })],
    );
    expect(f).toEqual([]);
  });

  it("reports a lost VM (its theater stopped answering) as lost, and its domain as no orphan", () => {
    const f = diffHost("pm-1", [dom("heat-1", "vm-1")], [vm({ state: "lost" })]);
    expect(f.map((x) => [x.kind, x.domainName, x.vmId])).toEqual([["lost", "heat-1", "vm-1"]]);
    expect(f[0]!.detail).toContain("stopped answering");
  });
});
