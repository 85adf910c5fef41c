import { describe, expect, it } from "vitest";
import { ApplicationRegistry } from "@malleo/sdk";
import { nodeEdges, pagerankSequential, partitionOf, partitionRange } from "./graph";
import { pagerankActors, pagerankApplication, pagerankAssemble, type PagerankConfig } from "./index";
import { initPartition, pagerankPartitionBehavior, type PartitionMessage, type PartitionState } from "./partition";

const CONFIG: PagerankConfig = {
  nodes: 997,
  partitions: 5,
  maxOutDegree: 6,
  seed: 7,
  damping: 0.85,
  maxIterations: 25,
  iterationDelayMs: 0,
};

/**
 * Runs the partitions in memory with a deliberately unfair scheduler (messages delivered in a
 * shuffled order): the arithmetic must not depend on delivery order.
 */
function runInMemory(config: PagerankConfig, shuffleSeed: number): Map<string, PartitionState> {
  const specs = pagerankActors("pr", config);
  const states = new Map(specs.map((s) => [s.uan, pagerankPartitionBehavior.init(s.init, s.uan)]));
  const queue: Array<{ to: string; message: PartitionMessage }> = [];
  let random = shuffleSeed;
  const contextOf = (self: string) => ({
    self,
    sender: null,
    holdRequested: false,
    send: (to: string, message: unknown) => queue.push({ to, message: message as PartitionMessage }),
    schedule: () => {},
    log: () => {},
  });
  for (const [uan, state] of states) states.set(uan, pagerankPartitionBehavior.start!(state, contextOf(uan)));
  while (queue.length > 0) {
    random = (Math.imul(random, 1103515245) + 12345) >>> 0;
    const [next] = queue.splice(random % queue.length, 1);
    states.set(next!.to, pagerankPartitionBehavior.receive(states.get(next!.to)!, next!.message, contextOf(next!.to)));
  }
  return states;
}

function bits(a: Float64Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

describe("the generated graph", () => {
  it("is the same every time, every node with 1..maxOutDegree edges to existing nodes", () => {
    const wrong: number[] = [];
    for (let node = 0; node < CONFIG.nodes; node++) {
      const edges = nodeEdges(CONFIG, node);
      const valid = edges.length >= 1 && edges.length <= CONFIG.maxOutDegree && edges.every((t) => t >= 0 && t < CONFIG.nodes);
      if (!valid || bits(new Float64Array(edges)).compare(bits(new Float64Array(nodeEdges(CONFIG, node)))) !== 0)
        wrong.push(node);
    }
    expect(wrong).toEqual([]);
  });

  it("partitions nodes contiguously, and partitionOf agrees with partitionRange", () => {
    for (const partitions of [1, 2, 5, 16, 997]) {
      let expectedFirst = 0;
      for (let index = 0; index < partitions; index++) {
        const { first, end } = partitionRange(CONFIG.nodes, partitions, index);
        expect(first).toBe(expectedFirst);
        for (let node = first; node < end; node++) expect(partitionOf(CONFIG.nodes, partitions, node)).toBe(index);
        expectedFirst = end;
      }
      expect(expectedFirst).toBe(CONFIG.nodes);
    }
  });

  it("conserves rank in the reference (no dangling nodes) and is not uniform", () => {
    const ranks = pagerankSequential(CONFIG, 25);
    const total = ranks.reduce((a, b) => a + b, 0);
    expect(Math.abs(total - 1)).toBeLessThan(1e-9);
    expect(Math.max(...ranks) / Math.min(...ranks)).toBeGreaterThan(10);
  });
});

describe("the partitions", () => {
  it("compute ranks bit-identical to the sequential reference, whatever the delivery order", () => {
    const expected = bits(pagerankSequential(CONFIG, 25));
    for (const shuffle of [1, 2, 3]) {
      const states = runInMemory(CONFIG, shuffle);
      expect([...states.values()].every((s) => s.iteration === 25)).toBe(true);
      expect(bits(pagerankAssemble(CONFIG, states)).equals(expected)).toBe(true);
    }
  });

  it("an off-by-one in the reference would be seen: 24 and 26 iterations differ from 25", () => {
    const states = runInMemory(CONFIG, 1);
    const got = bits(pagerankAssemble(CONFIG, states));
    expect(got.equals(bits(pagerankSequential(CONFIG, 24)))).toBe(false);
    expect(got.equals(bits(pagerankSequential(CONFIG, 26)))).toBe(false);
  });

  it("needs a message only from partitions with edges into it", () => {
    const state = initPartition(pagerankActors("pr", CONFIG)[0]!.init as never);
    const edgesIn = state.incoming.reduce((n, i) => n + i.targets.length, 0);
    let expected = 0;
    for (let node = 0; node < CONFIG.nodes; node++) for (const t of nodeEdges(CONFIG, node)) if (t < state.end) expected++;
    expect(edgesIn).toBe(expected);
  });

  it("refuses an assembly with a node missing or held twice", () => {
    const states = runInMemory({ ...CONFIG, maxIterations: 1 }, 1);
    const [first] = states.keys();
    const missing = new Map(states);
    missing.delete(first!);
    expect(() => pagerankAssemble(CONFIG, missing)).toThrow(/node 0 is held by no partition/);
    const twice = new Map([...states, ["uan://pr/again", states.get(first!)!]]);
    expect(() => pagerankAssemble(CONFIG, twice)).toThrow(/held by more than one partition/);
  });
});

describe("the application module", () => {
  it("is an application the registry accepts, and its schema refuses bad configurations by field", () => {
    const registry = new ApplicationRegistry([pagerankApplication]);
    expect(registry.actorSpecs("pagerank", "pr", pagerankApplication.defaultConfig)).toHaveLength(16);
    expect(() => registry.parseConfig("pagerank", { ...CONFIG, damping: 1 })).toThrow(/damping: /);
    expect(() => registry.parseConfig("pagerank", { ...CONFIG, nodes: 3, partitions: 4 })).toThrow(/partitions: /);
    expect(() => registry.parseConfig("pagerank", { ...CONFIG, colour: "red" })).toThrow(/colour/);
  });
});
