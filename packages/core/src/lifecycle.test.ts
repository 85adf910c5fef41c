import { describe, expect, it } from "vitest";
import { AppError } from "./errors";
import {
  OPERATION_STATUSES,
  OPERATION_TRANSITIONS,
  VM_STATES,
  VM_TRANSITIONS,
  assertOperationTransition,
  assertVmTransition,
  canTransition,
  operationAllowedFrom,
  vmAllowedFrom,
  type OperationStatus,
  type VmState,
} from "./lifecycle";

// The lifecycles written out again, edge by edge, so that a change to a table must be made
// here too, on purpose.
const OPERATION_ALLOWED: [OperationStatus, OperationStatus][] = [
  ["queued", "running"],
  ["queued", "rolling_back"],
  ["queued", "failed"],
  ["running", "succeeded"],
  ["running", "cleanup_pending"],
  ["running", "rolling_back"],
  ["running", "failed"],
  ["cleanup_pending", "running"],
  ["cleanup_pending", "succeeded"],
  ["rolling_back", "rolled_back"],
  ["rolling_back", "failed"],
];

const VM_ALLOWED: [VmState, VmState][] = [
  ["provisioning", "running"],
  ["provisioning", "deleted"],
  ["provisioning", "failed"],
  ["running", "deleting"],
  ["running", "deleted"],
  ["running", "failed"],
  ["deleting", "deleted"],
  ["deleting", "failed"],
  ["failed", "deleting"],
  ["failed", "deleted"],
  // A theater that stops answering; recovery boots the VM afresh, or it is cleaned up.
  ["running", "lost"],
  ["lost", "running"],
  ["lost", "deleting"],
  ["lost", "deleted"],
  ["lost", "failed"],
];

function pairs<S extends string>(states: readonly S[]): [S, S][] {
  return states.flatMap((from) => states.map((to) => [from, to] as [S, S]));
}

function walk<S extends string>(
  label: string,
  states: readonly S[],
  table: Readonly<Record<S, readonly S[]>>,
  allowed: [S, S][],
  assert: (from: S, to: S) => void,
  from: (to: S) => S[],
) {
  const isAllowed = (f: S, t: S) => allowed.some(([a, b]) => a === f && b === t);
  const all = pairs(states);

  it("has a row for every state and names only known states", () => {
    expect(Object.keys(table).sort()).toEqual([...states].sort());
    for (const s of states) for (const t of table[s]) expect(states).toContain(t);
  });

  describe.each(all.filter(([f, t]) => isAllowed(f, t)))(`${label} %s → %s`, (f, t) => {
    it("is allowed", () => {
      expect(canTransition(table, f, t)).toBe(true);
      expect(() => assert(f, t)).not.toThrow();
      expect(from(t)).toContain(f);
    });
  });

  describe.each(all.filter(([f, t]) => !isAllowed(f, t)))(`${label} %s → %s`, (f, t) => {
    it("is refused", () => {
      expect(canTransition(table, f, t)).toBe(false);
      let thrown: unknown;
      try {
        assert(f, t);
      } catch (e) {
        thrown = e;
      }
      expect(AppError.is(thrown)).toBe(true);
      expect((thrown as AppError).code).toBe("INTERNAL");
      expect((thrown as AppError).message).toBe(`${label} cannot go from ${f} to ${t}`);
      expect(from(t)).not.toContain(f);
    });
  });

  it("counts every pair exactly once", () => {
    expect(all).toHaveLength(states.length * states.length);
    expect(all.filter(([f, t]) => canTransition(table, f, t))).toHaveLength(allowed.length);
  });
}

describe("operation lifecycle", () => {
  walk(
    "operation",
    OPERATION_STATUSES,
    OPERATION_TRANSITIONS,
    OPERATION_ALLOWED,
    assertOperationTransition,
    operationAllowedFrom,
  );

  it("derives the compare-and-swap sets the workflow relies on", () => {
    expect(operationAllowedFrom("running")).toEqual(["queued", "cleanup_pending"]);
    expect(operationAllowedFrom("cleanup_pending")).toEqual(["running"]);
    expect(operationAllowedFrom("rolling_back")).toEqual(["queued", "running"]);
    expect(operationAllowedFrom("succeeded")).toEqual(["running", "cleanup_pending"]);
    expect(operationAllowedFrom("rolled_back")).toEqual(["rolling_back"]);
    expect(operationAllowedFrom("failed")).toEqual(["queued", "running", "rolling_back"]);
    expect(operationAllowedFrom("queued")).toEqual([]);
  });
});

describe("VM lifecycle", () => {
  walk("VM", VM_STATES, VM_TRANSITIONS, VM_ALLOWED, assertVmTransition, vmAllowedFrom);

  it("derives the compare-and-swap sets the workflow relies on", () => {
    expect(vmAllowedFrom("running")).toEqual(["provisioning", "lost"]);
    expect(vmAllowedFrom("deleting")).toEqual(["running", "failed", "lost"]);
    expect(vmAllowedFrom("deleted")).toEqual(["provisioning", "running", "deleting", "failed", "lost"]);
    expect(vmAllowedFrom("lost")).toEqual(["running"]);
    expect(vmAllowedFrom("provisioning")).toEqual([]);
  });
});
