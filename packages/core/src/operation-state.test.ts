import { describe, expect, it } from "vitest";
import { DEPLOY_STEPS, stepsForOperation } from "./operation-state";

describe("stepsForOperation", () => {
  it("gives each kind the steps its workflow runs, in order", () => {
    expect(stepsForOperation("split", "live")).toEqual(["validate", "provision", "checkpoint", "transfer", "cleanup"]);
    expect(stepsForOperation("merge", "barrier")).toEqual([
      "validate",
      "provision",
      "ready",
      "checkpoint",
      "transfer",
      "resume",
      "cleanup",
    ]);
    expect(stepsForOperation("deploy", "live")).toEqual(DEPLOY_STEPS);
    expect(stepsForOperation("stop", "live")).toEqual(["validate", "ready"]);
    expect(stepsForOperation("start", "barrier")).toEqual(["validate", "resume"]);
    expect(stepsForOperation("delete", "live")).toEqual(["validate", "discard", "cleanup"]);
    // An upgrade: rolling ones are recorded live and run a live split's steps; restart ones their own.
    expect(stepsForOperation("upgrade", "live")).toEqual(["validate", "provision", "checkpoint", "transfer", "cleanup"]);
    expect(stepsForOperation("upgrade", "barrier")).toEqual(["validate", "checkpoint", "restart"]);
  });
});
