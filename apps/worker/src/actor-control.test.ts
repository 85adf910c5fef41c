import { describe, expect, it } from "vitest";
import { ActorControl } from "./actor-control";

describe("ActorControl", () => {
  it("runs work on one VM one at a time, in arrival order, and VMs independently", async () => {
    const control = new ActorControl();
    const log: string[] = [];
    let releaseFirst!: () => void;
    const first = control.withVms(["a"], async () => {
      log.push("a1 start");
      await new Promise<void>((r) => (releaseFirst = r));
      log.push("a1 end");
    });
    const second = control.withVms(["a", "b"], async () => {
      log.push("a2");
    });
    await control.withVms(["c"], async () => {
      log.push("c");
    });
    expect(log).toEqual(["a1 start", "c"]);
    releaseFirst();
    await Promise.all([first, second]);
    expect(log).toEqual(["a1 start", "c", "a1 end", "a2"]);
  });

  it("releases the VMs when the work throws", async () => {
    const control = new ActorControl();
    await expect(control.withVms(["a"], () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    expect(await control.withVms(["a"], () => Promise.resolve(7))).toBe(7);
  });
});
