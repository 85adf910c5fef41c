import { describe, expect, it } from "vitest";
import { cancelBlocker, operationLog, operationTitle, rolledBack, stepRows, waitingOnReadyBarrier } from "./operation";

const ORDER = ["validate", "ready", "provision"];

describe("stepRows", () => {
  it("lists every workflow step in order, pending until recorded", () => {
    const rows = stepRows(ORDER, [{ name: "validate", status: "succeeded", attempt: 1 }]);
    expect(rows.map((r) => [r.name, r.status])).toEqual([
      ["validate", "succeeded"],
      ["ready", "pending"],
      ["provision", "pending"],
    ]);
  });

  it("shows a retried step's latest attempt and counts attempts", () => {
    const rows = stepRows(ORDER, [
      { name: "ready", status: "failed", attempt: 1 },
      { name: "ready", status: "succeeded", attempt: 2 },
    ]);
    expect(rows[1]).toMatchObject({ name: "ready", status: "succeeded", attempts: 2 });
  });

  it("appends the roll back and marks unreached steps skipped once the operation ended", () => {
    const rows = stepRows(
      ORDER,
      [
        { name: "validate", status: "succeeded", attempt: 1 },
        { name: "ready", status: "failed", attempt: 1 },
        { name: "rollback", status: "succeeded", attempt: 1 },
      ],
      true,
    );
    expect(rows.map((r) => [r.name, r.status])).toEqual([
      ["validate", "succeeded"],
      ["ready", "failed"],
      ["provision", "skipped"],
      ["rollback", "succeeded"],
    ]);
  });
});

describe("operationTitle", () => {
  it("reads sources → targets", () => {
    expect(operationTitle({ sources: [{ name: "heat-1" }], targets: [{ name: "heat-ab-1" }, { name: "heat-ab-2" }] })).toBe(
      "heat-1 → heat-ab-1, heat-ab-2",
    );
    expect(operationTitle(null)).toBe("(no plan)");
  });
});

describe("cancelBlocker", () => {
  const base = { status: "running", cancelRequestedAt: null, steps: [] as { name: string; status: string }[] };
  it("allows cancel while running before Transfer completes", () => {
    expect(cancelBlocker({ ...base, steps: [{ name: "transfer", status: "running" }] })).toBeNull();
    expect(cancelBlocker({ ...base, status: "queued" })).toBeNull();
  });
  it("explains why cancel is no longer possible after Transfer", () => {
    expect(cancelBlocker({ ...base, steps: [{ name: "transfer", status: "succeeded" }] })).toMatch(/Transfer has completed/);
  });
  it("hides the button once the operation ended", () => {
    expect(cancelBlocker({ ...base, status: "rolled_back" })).toBe("ended");
  });
});

describe("waitingOnReadyBarrier", () => {
  it("is true only while a running operation waits on its timed-out ready barrier", () => {
    const reason = "ready barrier timed out after 300 ms; not ready: uan://heat/3; extend the wait or abort";
    expect(waitingOnReadyBarrier({ status: "running", waitingReason: reason })).toBe(true);
    expect(waitingOnReadyBarrier({ status: "running", waitingReason: null })).toBe(false);
    expect(waitingOnReadyBarrier({ status: "cleanup_pending", waitingReason: "clean up failed; retrying in 2 s" })).toBe(false);
    expect(waitingOnReadyBarrier({ status: "rolling_back", waitingReason: reason })).toBe(false);
  });
});

describe("operationLog / rolledBack", () => {
  it("orders audited requests and step events in time and lists what was rolled back", () => {
    const t = (s: number) => new Date(1_000_000 + s * 1000);
    const steps = [
      { name: "validate", status: "succeeded", attempt: 1, startedAt: t(1), finishedAt: t(2), error: null, detail: null },
      { name: "ready", status: "failed", attempt: 1, startedAt: t(2), finishedAt: t(4), error: "cancelled", detail: null },
      {
        name: "rollback",
        status: "succeeded",
        attempt: 1,
        startedAt: t(5),
        finishedAt: t(6),
        error: null,
        detail: { undone: ["resume actors"] },
      },
    ];
    const log = operationLog({
      operator: "otto",
      createdAt: t(0),
      steps,
      audit: [
        { at: t(0), actor: "otto", procedure: "operations.split", ok: true, error: null },
        {
          at: t(2.5),
          actor: "ada",
          procedure: "operations.decideReadyTimeout",
          ok: true,
          error: null,
          input: { decision: "extend" },
        },
        { at: t(3), actor: "ada", procedure: "operations.cancel", ok: true, error: null },
      ],
    });
    expect(log.map((l) => `${l.who}: ${l.text}`)).toEqual([
      "otto: requested split",
      "worker: validate started",
      "worker: validate succeeded after 1000 ms",
      "worker: ready started",
      "ada: chose to wait longer at the ready barrier",
      "ada: requested cancel",
      "worker: ready failed after 2000 ms: cancelled",
      "worker: rollback started",
      "worker: rollback succeeded after 1000 ms",
    ]);
    expect(rolledBack(steps)).toEqual(["resume actors"]);
  });
});
