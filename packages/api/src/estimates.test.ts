import { describe, expect, it } from "vitest";
import { bucketRates, throughputSeries } from "./charts";
import { redactInput } from "./audit";
import { summariseSteps } from "./estimates";

describe("summariseSteps", () => {
  it("measures transfer speed and bytes per actor from succeeded transfers only", () => {
    const e = summariseSteps([
      { operationId: "a", name: "ready", status: "succeeded", ms: 100, detail: null },
      { operationId: "a", name: "transfer", status: "succeeded", ms: 2000, detail: { moved: 64, bytes: 64_000 } },
      { operationId: "b", name: "ready", status: "succeeded", ms: 300, detail: null },
      { operationId: "b", name: "transfer", status: "failed", ms: 50, detail: null },
    ]);
    expect(e.samples).toBe(2);
    expect(e.meanStepMs).toEqual({ ready: 200, transfer: 2000 });
    expect(e.bytesPerSecond).toBe(32_000);
    expect(e.actorsPerSecond).toBe(32);
    expect(e.bytesPerActor).toBe(1000);
  });

  it("has no speed without a measured transfer", () => {
    expect(summariseSteps([])).toEqual({
      samples: 0,
      meanStepMs: {},
      bytesPerSecond: null,
      actorsPerSecond: null,
      bytesPerActor: null,
    });
  });
});

describe("throughputSeries", () => {
  it("turns iteration counters into rates and skips a restart", () => {
    const t = (s: number) => new Date(1_000_000 + s * 1000);
    const [heat] = throughputSeries([
      { applicationId: "heat", at: t(0), iteration: 0 },
      { applicationId: "heat", at: t(2), iteration: 20 },
      { applicationId: "heat", at: t(3), iteration: 5 },
      { applicationId: "heat", at: t(4), iteration: 15 },
    ]);
    expect(heat!.points).toEqual([
      { at: t(2).getTime(), rate: 10 },
      { at: t(4).getTime(), rate: 10 },
    ]);
  });

  it("averages into buckets", () => {
    expect(
      bucketRates(
        [
          { at: 1000, rate: 2 },
          { at: 1500, rate: 4 },
          { at: 2100, rate: 1 },
        ],
        1000,
      ),
    ).toEqual([
      { at: 1000, rate: 3 },
      { at: 2000, rate: 1 },
    ]);
  });
});

describe("redactInput", () => {
  it("never records passwords or token secrets", () => {
    expect(redactInput({ name: "ann", password: "hunter2", nested: { apiToken: "x" } })).toEqual({
      name: "ann",
      password: "[redacted]",
      nested: { apiToken: "[redacted]" },
    });
  });
});
