import { describe, expect, it } from "vitest";
import { pivot, stepRowsByOperation } from "./chart-data";

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
