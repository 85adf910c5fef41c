import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { AppError } from "../errors";
import { applicationBlocker, contiguousGroups, planMerge, planSplit, type PlanVm } from "./plan";

const vm = (id: string, hostId: string, extra: Partial<PlanVm> = {}): PlanVm => ({
  id,
  name: `vm-${id}`,
  hostId,
  applicationId: "heat",
  state: "running",
  vcpus: 4,
  memoryMiB: 8192,
  ...extra,
});
const actors = (vmId: string, n: number, from = 0) =>
  Array.from({ length: n }, (_, i) => ({ uan: `uan://heat/slab-${from + i}`, vmId, ordinal: from + i }));

describe("contiguousGroups", () => {
  it("keeps every item exactly once, in order, in runs differing by at most one", () => {
    fc.assert(
      fc.property(fc.array(fc.integer(), { maxLength: 200 }), fc.integer({ min: 1, max: 20 }), (items, n) => {
        const groups = contiguousGroups(items, n);
        expect(groups.flat()).toEqual(items);
        const sizes = groups.map((g) => g.length);
        expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
      }),
    );
  });
});

describe("planSplit", () => {
  it("gives each target a contiguous run of slabs and an even share of resources", () => {
    const plan = planSplit(vm("a", "pm-1"), actors("a", 64).reverse(), ["pm-2", "pm-3"], (i) => ({
      id: `t${i}`,
      name: `t-${i}`,
    }));
    expect(plan.targets.map((t) => [t.hostId, t.vcpus, t.memoryMiB, t.actors.length])).toEqual([
      ["pm-2", 2, 4096, 32],
      ["pm-3", 2, 4096, 32],
    ]);
    expect(plan.targets[0]!.actors[0]).toBe("uan://heat/slab-0");
    expect(plan.targets[1]!.actors[0]).toBe("uan://heat/slab-32");
  });
  it("refuses a VM that is not running", () => {
    expect(() =>
      planSplit(vm("a", "pm-1", { state: "provisioning" }), [], ["pm-2", "pm-3"], (i) => ({ id: `${i}`, name: `${i}` })),
    ).toThrow(/only a running VM/);
  });
});

describe("planMerge", () => {
  it("sums resources and keeps slab order across sources", () => {
    const plan = planMerge([vm("b", "pm-3"), vm("a", "pm-2")], [...actors("b", 32, 32), ...actors("a", 32)], "pm-1", {
      id: "t",
      name: "t",
    });
    expect(plan.targets).toHaveLength(1);
    expect(plan.targets[0]).toMatchObject({ vcpus: 8, memoryMiB: 16384, hostId: "pm-1" });
    expect(plan.targets[0]!.actors).toEqual(Array.from({ length: 64 }, (_, i) => `uan://heat/slab-${i}`));
  });
  it("refuses VMs of different applications, naming them", () => {
    expect(() =>
      planMerge([vm("a", "pm-1"), vm("b", "pm-1", { applicationId: "crawler" })], [], "pm-1", { id: "t", name: "t" }),
    ).toThrow("VMs of different applications (heat, crawler) cannot be merged");
  });
});

describe("a degraded application", () => {
  const lost = "VM heat-2 lost: its theater stopped answering with 32 actors; recoverable from checkpoint #4 (iteration 900)";
  const degraded = { id: "heat", status: "degraded", statusReason: lost, autoRecovery: true };
  const refusal = (fn: () => unknown): AppError => {
    try {
      fn();
    } catch (e) {
      if (AppError.is(e)) return e;
      throw e;
    }
    throw new Error("not refused");
  };

  it("refuses a split of any of its VMs, naming the application, what was lost and what to do", () => {
    const e = refusal(() => planSplit(vm("a", "pm-1"), [], ["pm-2", "pm-3"], (i) => ({ id: `${i}`, name: `${i}` }), degraded));
    expect(e.code).toBe("APPLICATION_DEGRADED");
    expect(e.message).toBe(
      `application heat is degraded: ${lost}; restore it from a checkpoint first (applications.restore) or wait for automatic recovery`,
    );
    expect(e.details).toEqual({ applicationId: "heat", status: "degraded" });
  });

  it("refuses a merge of its VMs", () => {
    const e = refusal(() => planMerge([vm("a", "pm-1"), vm("b", "pm-1")], [], "pm-1", { id: "t", name: "t" }, degraded));
    expect(e.code).toBe("APPLICATION_DEGRADED");
  });

  it("refuses a split or merge of a stopped application's VMs, saying to start it first", () => {
    const stopped = { id: "heat", status: "stopped" };
    const split = refusal(() => planSplit(vm("a", "pm-1"), [], ["pm-2", "pm-3"], (i) => ({ id: `${i}`, name: `${i}` }), stopped));
    expect(split.code).toBe("APPLICATION_STOPPED");
    expect(split.message).toBe("application heat is stopped; start it first (applications.start)");
    const merge = refusal(() => planMerge([vm("a", "pm-1"), vm("b", "pm-1")], [], "pm-1", { id: "t", name: "t" }, stopped));
    expect(merge.code).toBe("APPLICATION_STOPPED");
    expect(applicationBlocker({ id: "heat", status: "running" })).toBeNull();
  });

  it("says only to restore when automatic recovery is off", () => {
    expect(applicationBlocker({ ...degraded, autoRecovery: false })?.message).toBe(
      `application heat is degraded: ${lost}; automatic recovery is off for it: restore it from a checkpoint first (applications.restore)`,
    );
  });

  it("blocks nothing once it runs again, and nothing of another status", () => {
    expect(applicationBlocker({ ...degraded, status: "running", statusReason: null })).toBeNull();
    expect(applicationBlocker(null)).toBeNull();
    const plan = planSplit(vm("a", "pm-1"), [], ["pm-2", "pm-3"], (i) => ({ id: `${i}`, name: `${i}` }), {
      ...degraded,
      status: "running",
    });
    expect(plan.targets).toHaveLength(2);
  });
});
