import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { heatActorSpecs } from "./heat";
import { planCrawlerSplit, planHeatSplit, planMergeOrder } from "./placement";

describe("placement", () => {
  it("splits heat into contiguous slab runs, neighbours together", () => {
    const uans = heatActorSpecs("h", { width: 8, height: 64, actors: 10, maxIterations: 1, iterationDelayMs: 0 }).map(
      (s) => s.uan,
    );
    const groups = planHeatSplit([...uans].reverse(), 3);
    expect(groups.map((group) => group.length)).toEqual([4, 3, 3]);
    expect(groups.flat()).toEqual(uans); // in slab order: each group is a contiguous run
    expect(planMergeOrder([groups[2]!, groups[0]!, groups[1]!])).toEqual(uans);
  });

  it("balances crawler partitions by measured load within one partition's load", () => {
    fc.assert(
      fc.property(fc.array(fc.nat(1000), { minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 6 }), (loads, targets) => {
        const actors = loads.map((load, index) => ({ uan: `uan://c/p-${index}`, load }));
        const groups = planCrawlerSplit(actors, targets);
        expect(groups.flat().sort()).toEqual(actors.map((a) => a.uan).sort());
        const loadOf = new Map(actors.map((a) => [a.uan, a.load]));
        const totals = groups.map((group) => group.reduce((sum, uan) => sum + loadOf.get(uan)!, 0));
        expect(Math.max(...totals) - Math.min(...totals)).toBeLessThanOrEqual(Math.max(...loads));
      }),
    );
  });
});
