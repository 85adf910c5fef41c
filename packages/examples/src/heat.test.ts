import { describe, expect, it } from "vitest";
import fc from "fast-check";
import type { ActorContext } from "@malleo/actors";
import {
  HEAT_HOT_EDGE_TEMPERATURE,
  heatActorSpecs,
  heatAssemble,
  heatInitialGrid,
  heatSequential,
  heatSlabBehavior,
  heatSlabRows,
  relaxSlab,
  type HeatConfig,
  type HeatMessage,
  type HeatSlabState,
} from "./heat";

function sameBits(a: Float64Array, b: Float64Array): boolean {
  return (
    a.length === b.length &&
    Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength))
  );
}

interface Envelope {
  to: string;
  body: HeatMessage;
}

/**
 * Runs the heat actors without a theater: `pickNext` chooses which pending message is delivered
 * next, so a test can try adversarial orders (a neighbour racing a whole iteration ahead, ticks
 * arriving late…). Ticks are delivered immediately when picked, like an expired timer.
 */
function runActors(
  cfg: HeatConfig,
  pickNext: (pending: number) => number,
  options: { cloneEverythingAfter?: number } = {},
): Map<string, HeatSlabState> {
  const specs = heatActorSpecs("heat", cfg);
  let states = new Map(specs.map((spec) => [spec.uan, heatSlabBehavior.init(spec.init, spec.uan)]));
  let pending: Envelope[] = [];
  const contextFor = (self: string): ActorContext => ({
    self,
    sender: null,
    holdRequested: false,
    send: (to, message) => pending.push({ to, body: structuredClone(message) as HeatMessage }),
    schedule: (message) => pending.push({ to: self, body: message as HeatMessage }),
    log: () => {},
  });
  for (const spec of specs) states.set(spec.uan, heatSlabBehavior.start!(states.get(spec.uan)!, contextFor(spec.uan)));
  for (let delivered = 0; pending.length > 0; delivered++) {
    if (delivered === options.cloneEverythingAfter) {
      // What a migration does to every actor at once: state and undelivered messages are copied.
      states = structuredClone(states);
      pending = structuredClone(pending);
    }
    const [envelope] = pending.splice(pickNext(pending.length) % pending.length, 1);
    const state = states.get(envelope!.to)!;
    states.set(envelope!.to, heatSlabBehavior.receive(state, envelope!.body, contextFor(envelope!.to)));
  }
  return states;
}

describe("heat kernel", () => {
  it("starts with a hot top edge and cold other edges", () => {
    const grid = heatInitialGrid(5, 4);
    expect([...grid.subarray(0, 5)]).toEqual(Array(5).fill(HEAT_HOT_EDGE_TEMPERATURE));
    expect([...grid.subarray(15, 20)]).toEqual([0, 0, 0, 0, 0]);
    for (let row = 1; row < 3; row++) expect([grid[row * 5], grid[row * 5 + 4]]).toEqual([0, 0]);
    expect(sameBits(grid, heatInitialGrid(5, 4))).toBe(true);
  });

  it("keeps the edges fixed and spreads heat inward", () => {
    const start = heatInitialGrid(8, 6);
    const after = heatSequential(8, 6, 50);
    for (let column = 0; column < 8; column++) {
      expect(after[column]).toBe(start[column]);
      expect(after[5 * 8 + column]).toBe(start[5 * 8 + column]);
    }
    expect(after[8 + 3]!).toBeGreaterThan(start[8 + 3]!);
    expect(sameBits(heatSequential(8, 6, 0), start)).toBe(true);
  });

  it("computes one step as the mean of the four neighbours", () => {
    const start = heatInitialGrid(4, 4);
    const step = heatSequential(4, 4, 1);
    const at = (grid: Float64Array, row: number, column: number) => grid[row * 4 + column]!;
    expect(at(step, 1, 1)).toBe(0.25 * (at(start, 0, 1) + at(start, 2, 1) + at(start, 1, 0) + at(start, 1, 2)));
  });
});

describe("slab partition", () => {
  it("covers every row exactly once with contiguous slabs differing by at most one row", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 300 }).chain((height) => fc.tuple(fc.constant(height), fc.integer({ min: 1, max: height }))),
        ([height, actors]) => {
          let expectedStart = 0;
          const sizes: number[] = [];
          for (let index = 0; index < actors; index++) {
            const slab = heatSlabRows(height, actors, index);
            expect(slab.rowStart).toBe(expectedStart);
            expect(slab.rowEnd).toBeGreaterThan(slab.rowStart);
            sizes.push(slab.rowEnd - slab.rowStart);
            expectedStart = slab.rowEnd;
          }
          expect(expectedStart).toBe(height);
          expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
        },
      ),
    );
  });

  it("refuses more actors than rows", () => {
    expect(() => heatSlabRows(4, 5, 0)).toThrow(/between 1 and the height/);
  });

  it("advances slab by slab exactly like the whole grid", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 3, max: 12 }),
        fc.integer({ min: 3, max: 14 }),
        fc.integer({ min: 0, max: 6 }),
        (width, height, steps) => {
          const actors = Math.max(1, Math.floor(height / 2));
          let grid = heatInitialGrid(width, height);
          for (let step = 0; step < steps; step++) {
            const next = new Float64Array(grid.length);
            for (let index = 0; index < actors; index++) {
              const slab = heatSlabRows(height, actors, index);
              const rows = grid.slice(slab.rowStart * width, slab.rowEnd * width);
              const above = slab.rowStart > 0 ? grid.slice((slab.rowStart - 1) * width, slab.rowStart * width) : null;
              const below = slab.rowEnd < height ? grid.slice(slab.rowEnd * width, (slab.rowEnd + 1) * width) : null;
              next.set(relaxSlab(rows, slab, width, height, above, below), slab.rowStart * width);
            }
            grid = next;
          }
          expect(sameBits(grid, heatSequential(width, height, steps))).toBe(true);
        },
      ),
    );
  });
});

describe("heat actors", () => {
  it("name slabs with zero-padded indices and link each to its neighbours", () => {
    const specs = heatActorSpecs("demo", { width: 10, height: 30, actors: 12, maxIterations: 5, iterationDelayMs: 0 });
    expect(specs.map((spec) => spec.uan).slice(0, 2)).toEqual(["uan://demo/slab-00", "uan://demo/slab-01"]);
    expect(specs[0]!.init).toMatchObject({ upper: null, lower: "uan://demo/slab-01" });
    expect(specs[11]!.init).toMatchObject({ upper: "uan://demo/slab-10", lower: null });
    expect(new Set(specs.map((spec) => spec.behavior))).toEqual(new Set(["heat.slab"]));
  });

  it("are bit-identical to the sequential kernel whatever the delivery order", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 3, max: 10 }),
        fc.integer({ min: 3, max: 12 }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 0, max: 12 }),
        fc.boolean(),
        fc.array(fc.nat(), { minLength: 1, maxLength: 64 }),
        (width, height, wantedActors, iterations, throttled, choices) => {
          const cfg: HeatConfig = {
            width,
            height,
            actors: Math.min(wantedActors, height),
            maxIterations: iterations,
            iterationDelayMs: throttled ? 1 : 0,
          };
          let turn = 0;
          const states = runActors(cfg, () => choices[turn++ % choices.length]!);
          for (const state of states.values()) expect(state.iteration).toBe(iterations);
          expect(sameBits(heatAssemble(cfg, states), heatSequential(width, height, iterations))).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("finish bit-identical when their states and messages are copied mid-run (what a migration does)", () => {
    const cfg: HeatConfig = { width: 9, height: 10, actors: 3, maxIterations: 7, iterationDelayMs: 1 };
    for (const cloneAfter of [1, 10, 25, 40]) {
      const states = runActors(cfg, (pending) => pending >> 1, { cloneEverythingAfter: cloneAfter });
      expect(sameBits(heatAssemble(cfg, states), heatSequential(9, 10, 7))).toBe(true);
    }
  });

  it("stop at maxIterations and keep no ghost rows they will never use", () => {
    const cfg: HeatConfig = { width: 6, height: 8, actors: 4, maxIterations: 5, iterationDelayMs: 0 };
    const states = runActors(cfg, (pending) => pending - 1);
    for (const state of states.values()) {
      expect(state.iteration).toBe(5);
      expect(state.ghostsAbove.size + state.ghostsBelow.size).toBe(0);
    }
  });
});

describe("heat assembly", () => {
  const cfg: HeatConfig = { width: 4, height: 6, actors: 3, maxIterations: 0, iterationDelayMs: 0 };
  const initialStates = () => {
    const specs = heatActorSpecs("heat", cfg);
    return new Map<string, unknown>(specs.map((spec) => [spec.uan, heatSlabBehavior.init(spec.init, spec.uan)]));
  };

  it("rebuilds the initial grid from freshly initialised slabs", () => {
    expect(sameBits(heatAssemble(cfg, initialStates()), heatInitialGrid(4, 6))).toBe(true);
  });

  it("refuses a grid with a missing slab", () => {
    const states = initialStates();
    states.delete("uan://heat/slab-1");
    expect(() => heatAssemble(cfg, states)).toThrow(/held by no slab/);
  });

  it("refuses overlapping slabs and foreign states", () => {
    const states = initialStates();
    states.set("uan://heat/copy", states.get("uan://heat/slab-0"));
    expect(() => heatAssemble(cfg, states)).toThrow(/more than one slab/);
    expect(() => heatAssemble(cfg, new Map([["uan://heat/x", { hello: 1 }]]))).toThrow(/does not hold a heat slab/);
  });
});
