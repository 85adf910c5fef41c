// PageRank on real theater processes through the SDK's harness: split live into three, merge
// behind a barrier into one, mid-run; the ranks must equal the sequential reference bit for bit.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApplicationHarness, sameBytes } from "@malleo/sdk/testing";
import { pagerankApplication, pagerankSequential, type PagerankConfig } from "./index";

const CONFIG: PagerankConfig = {
  nodes: 6000,
  partitions: 12,
  maxOutDegree: 8,
  seed: 42,
  damping: 0.85,
  maxIterations: 120,
  iterationDelayMs: 4,
};

let harness: ApplicationHarness<PagerankConfig>;
beforeAll(async () => {
  harness = await ApplicationHarness.start({
    application: pagerankApplication,
    moduleFile: new URL("./index.ts", import.meta.url),
    theaters: ["vm-1", "vm-2", "vm-3"],
  });
});
afterAll(() => harness?.stop());

describe("PageRank across theaters", () => {
  it("gives ranks bit-identical to the sequential reference after a live split and a barrier merge", async () => {
    await harness.deploy(CONFIG, { vms: 1 });
    await harness.waitForProgress(10);
    await harness.split("vm-1", ["vm-1", "vm-2", "vm-3"], { mode: "live" });
    expect(["vm-1", "vm-2", "vm-3"].map((vm) => harness.actorsOn(vm).length)).toEqual([4, 4, 4]);
    expect(Math.max(...harness.progress().values())).toBeLessThan(CONFIG.maxIterations!); // moved mid-run

    await harness.waitForProgress(50);
    await harness.merge(["vm-1", "vm-3"], "vm-2", { mode: "barrier" });
    expect(harness.actorsOn("vm-2")).toHaveLength(12);
    expect(Math.max(...harness.progress().values())).toBeLessThan(CONFIG.maxIterations!);

    await harness.waitForProgress(CONFIG.maxIterations!);
    const expected = pagerankSequential(CONFIG, CONFIG.maxIterations!);
    expect(sameBytes(await harness.result(), expected)).toBe(true);
    // And not trivially: one iteration fewer gives other bits.
    expect(sameBytes(await harness.result(), pagerankSequential(CONFIG, CONFIG.maxIterations! - 1))).toBe(false);
  });
});
