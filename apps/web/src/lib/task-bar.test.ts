import { describe, expect, it } from "vitest";
import {
  locksByOthers,
  lockNoticeText,
  pageScope,
  progressText,
  taskOutcome,
  taskProgress,
  taskRows,
  taskTargets,
  type TaskSummary,
} from "./task-bar";

const VM_A = "11111111-1111-4111-8111-111111111111";
const VM_B = "22222222-2222-4222-8222-222222222222";

function op(over: Partial<TaskSummary & { createdAt: Date }> = {}): TaskSummary & { createdAt: Date } {
  return {
    id: "op-1",
    kind: "split",
    status: "running",
    operator: "ada",
    cancelledBy: null,
    transferMode: "live",
    plan: {
      applicationId: "heat",
      sources: [{ id: VM_A, name: "heat-1" }],
      targets: [{ id: VM_B, name: "heat-2" }, { name: "heat-3" }],
    },
    createdAt: new Date(0),
    ...over,
  };
}

describe("taskOutcome", () => {
  it("names each end, a cancel apart from a roll back after a failure", () => {
    expect(taskOutcome({ status: "succeeded", cancelledBy: null }).label).toBe("Succeeded");
    expect(taskOutcome({ status: "failed", cancelledBy: null })).toEqual({ label: "Failed", tone: "bad" });
    expect(taskOutcome({ status: "rolled_back", cancelledBy: null }).label).toBe("Rolled back");
    expect(taskOutcome({ status: "rolled_back", cancelledBy: "bob" }).label).toBe("Cancelled");
    expect(taskOutcome({ status: "rolling_back", cancelledBy: "bob" }).label).toBe("Cancelling");
    expect(taskOutcome({ status: "running", cancelledBy: null })).toEqual({ label: "Running", tone: "info" });
    expect(taskOutcome({ status: "cleanup_pending", cancelledBy: null }).label).toBe("Cleaning up");
  });
});

describe("taskTargets", () => {
  it("says what each kind works on", () => {
    expect(taskTargets("split", op().plan)).toBe("heat-1 → heat-2, heat-3");
    expect(taskTargets("deploy", { applicationId: "ranks", sources: [], targets: [{ name: "ranks-1" }] })).toBe(
      "ranks: → ranks-1",
    );
    expect(taskTargets("stop", { applicationId: "heat", sources: [{ name: "heat-1" }], targets: [] })).toBe(
      "application heat (heat-1)",
    );
    expect(taskTargets("delete", { applicationId: "heat", sources: [], targets: [] })).toBe("application heat");
    expect(taskTargets("merge", null)).toBe("(no plan)");
  });
});

describe("taskProgress", () => {
  it("counts the kind's steps done and names the one running, the latest attempt counting", () => {
    const p = taskProgress({ kind: "split", transferMode: "live" }, [
      { name: "validate", status: "succeeded", attempt: 1 },
      { name: "provision", status: "failed", attempt: 1 },
      { name: "provision", status: "succeeded", attempt: 2 },
      { name: "checkpoint", status: "succeeded", attempt: 1 },
      { name: "transfer", status: "running", attempt: 1 },
    ]);
    expect(p).toEqual({ current: "Transfer", done: 3, total: 5 });
    expect(progressText(p)).toBe("Transfer · 3 of 5 steps done");
  });

  it("uses the barrier's steps for a barrier (and an operation from before modes), and the roll back as the current step", () => {
    const p = taskProgress({ kind: "merge", transferMode: null }, [
      { name: "validate", status: "succeeded", attempt: 1 },
      { name: "rollback", status: "running", attempt: 1 },
    ]);
    expect(p).toEqual({ current: "Roll back", done: 1, total: 7 });
    expect(progressText(taskProgress({ kind: "stop", transferMode: "live" }, []))).toBe("0 of 2 steps done");
  });
});

describe("pageScope", () => {
  it("reads the page's scope from its path", () => {
    expect(pageScope("/")).toEqual({ kind: "topology" });
    expect(pageScope(`/vms/${VM_A}`)).toEqual({ kind: "vm", vmId: VM_A });
    expect(pageScope("/applications/heat%2Dx")).toEqual({ kind: "application", applicationId: "heat-x" });
    expect(pageScope("/applications")).toBeNull();
    expect(pageScope("/history")).toBeNull();
    expect(pageScope("/operations/x")).toBeNull();
  });
});

describe("locksByOthers", () => {
  const mine = op({ id: "mine", operator: "me" });
  const theirs = op({ id: "theirs", operator: "ada" });
  const ended = op({ id: "ended", operator: "ada", status: "succeeded" });
  const elsewhere = op({
    id: "elsewhere",
    operator: "ada",
    plan: { applicationId: "ranks", sources: [{ id: "x", name: "ranks-1" }], targets: [] },
  });
  const all = [mine, theirs, ended, elsewhere];

  it("finds only other users' operations under way that hold what the page shows", () => {
    expect(locksByOthers(all, { kind: "topology" }, "me").map((o) => o.id)).toEqual(["theirs", "elsewhere"]);
    expect(locksByOthers(all, { kind: "application", applicationId: "heat" }, "me").map((o) => o.id)).toEqual(["theirs"]);
    // A target VM is locked too.
    expect(locksByOthers(all, { kind: "vm", vmId: VM_B }, "me").map((o) => o.id)).toEqual(["theirs"]);
    expect(locksByOthers(all, { kind: "vm", vmId: "other" }, "me")).toEqual([]);
    expect(locksByOthers(all, null, "me")).toEqual([]);
  });

  it("words the notice", () => {
    expect(lockNoticeText(theirs)).toBe("Locked by ada's split");
  });
});

describe("taskRows", () => {
  const at = (s: number) => new Date(s * 1000);
  it("lists what runs oldest first, then the latest ended ones newest first, an end winning over a stale running", () => {
    const a = op({ id: "a", createdAt: at(1) });
    const b = op({ id: "b", createdAt: at(2) });
    const c = op({ id: "c", createdAt: at(3), status: "succeeded" });
    const d = op({ id: "d", createdAt: at(4), status: "failed" });
    const bEnded = { ...b, status: "succeeded" as const };
    const e = op({ id: "e", createdAt: at(5) });
    expect(taskRows([b, a], [e, d, c, bEnded], 2).map((o) => o.id)).toEqual(["a", "e", "d", "c"]);
    expect(taskRows([], [d, c], 1).map((o) => o.id)).toEqual(["d"]);
  });
});
