import { describe, expect, it } from "vitest";
import { OUTCOME_COLORS, operationSpans, pivot, stepRowsByOperation } from "./chart-data";

describe("pivot", () => {
  it("makes one row per x with one column per series", () => {
    const r = pivot(
      [
        { t: 2, vm: "b", v: 5 },
        { t: 1, vm: "a", v: 10 },
        { t: 2, vm: "a", v: 20 },
      ],
      (s) => s.t,
      (s) => s.vm,
      (s) => s.v,
    );
    expect(r).toEqual({
      rows: [
        { at: 1, a: 10 },
        { at: 2, a: 20, b: 5 },
      ],
      keys: ["a", "b"],
    });
  });
});

describe("stepRowsByOperation", () => {
  it("stacks each operation's steps in seconds, summing retried attempts", () => {
    const r = stepRowsByOperation([
      { operationId: "aaaaaaaa-1", kind: "split", name: "ready", ms: 500 },
      { operationId: "aaaaaaaa-1", kind: "split", name: "transfer", ms: 1000 },
      { operationId: "aaaaaaaa-1", kind: "split", name: "transfer", ms: 500 },
      { operationId: "bbbbbbbb-2", kind: "merge", name: "ready", ms: 250 },
    ]);
    expect(r.names).toEqual(["ready", "transfer"]);
    expect(r.rows).toEqual([
      { op: "split aaaaaa", operationId: "aaaaaaaa-1", ready: 0.5, transfer: 1.5 },
      { op: "merge bbbbbb", operationId: "bbbbbbbb-2", ready: 0.25 },
    ]);
  });
});

describe("step legend order", () => {
  it("lists steps in the order an operation runs them, not alphabetically or as first seen", () => {
    const r = stepRowsByOperation([
      { operationId: "a", kind: "split", name: "transfer", ms: 1 },
      { operationId: "a", kind: "split", name: "cleanup", ms: 1 },
      { operationId: "a", kind: "split", name: "validate", ms: 1 },
      { operationId: "a", kind: "split", name: "rollback", ms: 1 },
      { operationId: "a", kind: "split", name: "provision", ms: 1 },
    ]);
    expect(r.names).toEqual(["validate", "provision", "transfer", "cleanup", "rollback"]);
  });
});

describe("operationSpans", () => {
  const m = (id: string, startAt: number, endAt: number | null, status = "succeeded") => ({
    operationId: id,
    kind: "split",
    status,
    operator: "otto",
    startAt,
    endAt,
  });
  it("spans an operation from its start to its finish, or to now while it runs", () => {
    const [done, running] = operationSpans([m("a", 1000, 5000), m("b", 20_000, null, "running")], 30_000, 100);
    expect(done).toMatchObject({ x1: 1000, x2: 5000, label: "split · succeeded · otto" });
    expect(running).toMatchObject({ x1: 20_000, x2: 30_000, label: "split · running · otto" });
  });
  it("colours by outcome: a rolled-back split is not drawn like a successful one", () => {
    const [ok, back] = operationSpans([m("a", 0, 1, "succeeded"), m("b", 10, 11, "rolled_back")], 100, 1);
    expect(ok!.color).toBe(OUTCOME_COLORS.succeeded);
    expect(back!.color).toBe(OUTCOME_COLORS.rolled_back);
    expect(back!.color).not.toBe(ok!.color);
  });
  it("puts the labels of nearby operations on different lines, and reuses a line once it is free", () => {
    const spans = operationSpans([m("a", 0, 10), m("b", 50, 60), m("c", 90, 95), m("d", 500, 510)], 1000, 100);
    expect(spans.map((s) => s.lane)).toEqual([0, 1, 2, 0]);
  });
});
