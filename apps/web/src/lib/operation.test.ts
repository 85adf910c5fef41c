import { describe, expect, it } from "vitest";
import {
  cancelBlocker,
  operationLog,
  operationTitle,
  rolledBack,
  stepDetailItems,
  stepLabel,
  stepRows,
  waitingOnReadyBarrier,
} from "./operation";

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
      "worker: Validate & plan started",
      "worker: Validate & plan succeeded after 1.00 s",
      "worker: Ready started",
      "ada: chose to wait longer at the ready barrier",
      "ada: requested cancel",
      "worker: Ready failed after 2.00 s: cancelled",
      "worker: Roll back started",
      "worker: Roll back succeeded after 1.00 s",
    ]);
    expect(rolledBack(steps)).toEqual(["resume actors"]);
  });
});

describe("operationLog's last line", () => {
  const t = (s: number) => new Date(1_000_000 + s * 1000);
  const base = { operator: "otto", createdAt: t(0), steps: [], audit: [] };
  it.each([
    ["succeeded", null, "operation succeeded", "ok"],
    ["failed", "host pm-9 is unreachable", "operation failed: host pm-9 is unreachable", "bad"],
    ["rolled_back", "cancelled by otto", "operation rolled back: cancelled by otto", "warn"],
  ] as const)("a %s operation ends with its outcome", (status, error, text, tone) => {
    const log = operationLog({ ...base, status, finishedAt: t(9), error });
    expect(log.at(-1)).toMatchObject({ who: "worker", text, tone, at: t(9) });
  });
  it("a running operation has no outcome line", () => {
    const log = operationLog({ ...base, status: "running", finishedAt: null, error: null });
    expect(log.map((l) => l.text)).toEqual(["submitted"]);
  });
});

describe("stepLabel", () => {
  it("names steps as the step list does", () => {
    expect(stepLabel("validate")).toBe("Validate & plan");
    expect(stepLabel("cleanup")).toBe("Clean up");
    expect(stepLabel("something-new")).toBe("something-new");
  });
});

describe("stepDetailItems", () => {
  it("shows bytes in KiB/MiB, VM lists as names and holds as durations", () => {
    expect(stepDetailItems({ created: ["heat-ab12cd-1", "heat-ab12cd-2"] })).toEqual([
      { label: "created", names: ["heat-ab12cd-1", "heat-ab12cd-2"] },
    ]);
    expect(
      stepDetailItems({
        mode: "live",
        moved: 64,
        bytes: 825141,
        hold: { count: 64, p50: 12, p99: 40.5, max: 1500 },
        heldFromMs: 1_000_000,
        heldUntilMs: 1_002_500,
      }),
    ).toEqual([
      { label: "transfer", text: "live" },
      { label: "actors moved", text: "64" },
      { label: "state moved", text: "806 KiB" },
      { label: "actor hold", text: "p50 12 ms · p99 41 ms · max 1.50 s (64 actors)" },
      { label: "actors held for", text: "2.50 s" },
    ]);
    expect(stepDetailItems({ resumed: 64, resumedAtMs: 1_764_000_000_000 })).toEqual([{ label: "actors resumed", text: "64" }]);
    expect(stepDetailItems({ ready: 64, extensions: 1, heldFromMs: 1_764_000_000_000 })).toEqual([
      { label: "actors ready", text: "64" },
      { label: "extra waits", text: "1" },
    ]);
  });
  it("shows unknown keys without JSON brackets, and nothing for no detail", () => {
    expect(stepDetailItems({ odd: { a: 1, b: [2, 3] } })).toEqual([{ label: "odd", text: "a 1 · b 2, 3" }]);
    expect(stepDetailItems(null)).toEqual([]);
    expect(stepDetailItems(7)).toEqual([{ label: "result", text: "7" }]);
  });
});
