import { afterEach, describe, expect, it } from "vitest";
import { ApplicationHarness } from "./harness";
import { relayApplication, relayReceived } from "./fixtures/relay";

const RELAY = { actors: 6, rounds: 150, intervalMs: 2 };
const expected = Array.from({ length: RELAY.rounds }, (_, i) => i + 1);

let harness: ApplicationHarness<unknown> | undefined;
afterEach(async () => {
  await harness?.stop();
  harness = undefined;
});

describe("the local test harness", () => {
  for (const mode of ["processes", "in-process"] as const) {
    it(`runs the actors on ${mode} theaters through a split and a merge, every baton exactly once in order`, async () => {
      harness = await ApplicationHarness.start({
        application: relayApplication,
        moduleFile: new URL("./fixtures/relay.ts", import.meta.url),
        theaters: ["a", "b", "c"],
        mode,
      });
      await harness.deploy(RELAY, { vms: 1 });
      expect(harness.actorsOn("a")).toHaveLength(6);

      await harness.waitForProgress(20);
      await harness.split("a", ["a", "b", "c"], { mode: "live" });
      expect([harness.actorsOn("a").length, harness.actorsOn("b").length, harness.actorsOn("c").length]).toEqual([2, 2, 2]);
      const atSplit = Math.max(...harness.progress().values());
      expect(atSplit).toBeLessThan(RELAY.rounds); // the moves land mid-run

      await harness.waitForProgress(80);
      await harness.merge(["a", "b"], "c", { mode: "barrier" });
      expect(harness.actorsOn("c")).toHaveLength(6);

      await harness.waitForProgress(RELAY.rounds);
      for (const received of relayReceived(await harness.states())) expect(received).toEqual(expected);
    });
  }

  it("refuses a configuration the application's schema refuses, and a module file missing for processes", async () => {
    harness = await ApplicationHarness.start({ application: relayApplication, theaters: 1, mode: "in-process" });
    await expect(harness.deploy({ actors: 1, rounds: 1, intervalMs: 0 })).rejects.toThrow(/actors: /);
    expect(harness.actors).toEqual([]);
    await expect(ApplicationHarness.start({ application: relayApplication, theaters: 1 })).rejects.toThrow(/needs `moduleFile`/);
  });
});
