import { describe, expect, it } from "vitest";
import { operationTitle, stepRows } from "./operation";

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
