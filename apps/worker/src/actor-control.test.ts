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

  it("lets shared holders of a VM overlap, and keeps an exclusive one apart from them, in arrival order", async () => {
    const control = new ActorControl();
    const log: string[] = [];
    const gate = () => {
      let open!: () => void;
      return { wait: new Promise<void>((r) => (open = r)), open: () => open() };
    };
    const m1 = gate();
    const m2 = gate();
    const move1 = control.withVms(
      ["a", "b"],
      async () => {
        log.push("move1 start");
        await m1.wait;
        log.push("move1 end");
      },
      { shared: true },
    );
    const move2 = control.withVms(
      ["a", "c"],
      async () => {
        log.push("move2 start");
        await m2.wait;
        log.push("move2 end");
      },
      { shared: true },
    );
    const checkpoint = control.withVms(["a"], async () => {
      log.push("checkpoint");
    });
    const move3 = control.withVms(
      ["a"],
      async () => {
        log.push("move3");
      },
      { shared: true },
    );
    await new Promise((r) => setImmediate(r));
    // Both moves run at once; the checkpoint waits for both, and the later move waits behind it.
    expect(log).toEqual(["move1 start", "move2 start"]);
    m1.open();
    await move1;
    expect(log).toEqual(["move1 start", "move2 start", "move1 end"]);
    m2.open();
    await Promise.all([move2, checkpoint, move3]);
    expect(log).toEqual(["move1 start", "move2 start", "move1 end", "move2 end", "checkpoint", "move3"]);
  });
});
