import type { LiveEvent } from "@malleo/api";
import { describe, expect, it } from "vitest";
import {
  addEvent,
  emptyRefresh,
  isEmpty,
  iterationRate,
  recordIteration,
  withIterations,
  type IterationSamples,
} from "./live-refresh";

describe("live refresh batching", () => {
  it("collects a burst into one refresh of each query", () => {
    const p = emptyRefresh();
    expect(isEmpty(p)).toBe(true);
    addEvent(p, { type: "operation", operationId: "a" });
    addEvent(p, { type: "operation", operationId: "a" });
    addEvent(p, { type: "application", applicationId: "heat", iteration: 9 });
    addEvent(p, { type: "application", applicationId: "heat", iteration: 7 });
    expect(p.topology).toBe(true);
    expect(p.lists).toBe(true);
    expect([...p.operations]).toEqual(["a"]);
    expect(p.iterations.get("heat")).toBe(9);
  });

  it("refetches no operation that arrived with its new state, and only actor moves refetch progress", () => {
    const p = emptyRefresh();
    const operation = { id: "b" } as unknown as NonNullable<Extract<LiveEvent, { type: "operation" }>["operation"]>;
    addEvent(p, { type: "operation", operationId: "b", operation });
    expect([...p.operations]).toEqual([]);
    expect(p.progress).toBe(false);
    expect(p.lists && p.topology).toBe(true);
    addEvent(p, { type: "topology" });
    expect(p.progress).toBe(true);
  });

  it("only ever raises an iteration counter and keeps identity when nothing changes", () => {
    const data = { applications: [{ id: "heat", iteration: 10 }] };
    expect(withIterations(data, new Map([["heat", 12]])).applications[0]!.iteration).toBe(12);
    expect(withIterations(data, new Map([["heat", 8]]))).toBe(data);
    expect(withIterations(data, new Map([["other", 99]]))).toBe(data);
  });
});

describe("iterationRate", () => {
  it("measures iterations per second from live observations", () => {
    const s: IterationSamples = new Map();
    recordIteration(s, "heat", 100, 0);
    expect(iterationRate(s, "heat", 0)).toBeNull();
    recordIteration(s, "heat", 110, 500);
    recordIteration(s, "heat", 120, 1000);
    expect(iterationRate(s, "heat", 1000)).toBe(20);
  });

  it("falls to 0 when progress stops arriving and forgets old samples", () => {
    const s: IterationSamples = new Map();
    recordIteration(s, "heat", 100, 0);
    recordIteration(s, "heat", 110, 500);
    expect(iterationRate(s, "heat", 4_000)).toBe(0);
    recordIteration(s, "heat", 400, 20_000);
    recordIteration(s, "heat", 410, 21_000);
    expect(iterationRate(s, "heat", 21_000)).toBe(10);
  });
});
