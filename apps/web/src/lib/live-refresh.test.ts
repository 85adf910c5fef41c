import type { LiveEvent } from "@malleo/api";
import { describe, expect, it } from "vitest";
import {
  addEvent,
  emptyRefresh,
  isEmpty,
  iterationRate,
  recordIteration,
  withActorCounts,
  withIterations,
  type IterationSamples,
} from "./live-refresh";
import type { Topology } from "../trpc/types";

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

describe("withActorCounts", () => {
  const vm = (id: string, actorCount: number, firstOrdinal: number | null, lastOrdinal: number | null) =>
    ({ id, actorCount, firstOrdinal, lastOrdinal }) as Topology["hosts"][number]["vms"][number];
  const topology = {
    hosts: [
      { id: "pm-1", vms: [vm("src", 64, 0, 63)] },
      { id: "pm-2", vms: [vm("a", 0, null, null)] },
      { id: "pm-3", vms: [vm("b", 0, null, null)] },
    ],
    totalActors: 64,
  } as unknown as Topology;

  it("applies a batch's counts to the VMs named and keeps the total", () => {
    const after = withActorCounts(topology, [
      { id: "src", actorCount: 32, firstOrdinal: 32, lastOrdinal: 63 },
      { id: "a", actorCount: 32, firstOrdinal: 0, lastOrdinal: 31 },
    ]);
    expect(after.hosts.map((h) => h.vms[0]!.actorCount)).toEqual([32, 32, 0]);
    expect(after.hosts[1]!.vms[0]).toMatchObject({ firstOrdinal: 0, lastOrdinal: 31 });
    expect(after.totalActors).toBe(64);
    // Hosts nothing happened to are the same objects (their cards need not re-render).
    expect(after.hosts[2]).toBe(topology.hosts[2]);
  });

  it("keeps identity when the counts are already there or name unknown VMs", () => {
    expect(withActorCounts(topology, [{ id: "src", actorCount: 64, firstOrdinal: 0, lastOrdinal: 63 }])).toBe(topology);
    expect(withActorCounts(topology, [{ id: "gone", actorCount: 5, firstOrdinal: 1, lastOrdinal: 5 }])).toBe(topology);
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
