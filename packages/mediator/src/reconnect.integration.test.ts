// In-process theaters (no child processes): recovery paths of the Mediator protocol.
import { afterEach, describe, expect, it } from "vitest";
import {
  RECORDER_BEHAVIOR,
  Theater,
  type ActorBehavior,
  builtinBehaviors,
  parseAddress,
  type RecorderState,
} from "@malleo/actors";
import { Mediator } from "./mediator";
import { waitUntil } from "@malleo/testing";

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

function startTheater(vmId: string, mediator: string, secret: string, logs: Record<string, unknown>[] = []): Theater {
  const theater = new Theater({
    vmId,
    mediator,
    secret,
    behaviors: builtinBehaviors,
    reconnectDelayMs: 50,
    log: (entry) => logs.push(entry),
  });
  cleanups.push(() => theater.stop());
  return theater;
}

async function startMediator(port = 0): Promise<{ mediator: Mediator; address: string }> {
  const mediator = new Mediator({ port });
  const { address } = await mediator.start();
  cleanups.push(() => mediator.stop());
  return { mediator, address };
}

async function recorded(mediator: Mediator, uan: string): Promise<unknown[]> {
  const state = (await mediator.collectStates([uan])).get(uan) as RecorderState;
  return state.received.map((entry) => entry.body);
}

describe("mediator recovery", () => {
  it("rebuilds its directory when a theater re-registers after a Mediator restart", async () => {
    const first = await startMediator();
    first.mediator.expectTheater("vm-r", "s");
    const theater = startTheater("vm-r", first.address, "s");
    await theater.start();
    const uan = "uan://probe/survivor";
    await first.mediator.spawnActors("vm-r", [{ uan, behavior: RECORDER_BEHAVIOR, init: null }]);
    first.mediator.sendMessage(uan, "before");
    await waitUntil("the first message", async () => (await recorded(first.mediator, uan)).length === 1);

    await first.mediator.stop();
    const second = await startMediator(parseAddress(first.address).port);
    second.mediator.expectTheater("vm-r", "s");
    await second.mediator.awaitTheater("vm-r", 10_000);
    expect(second.mediator.listActors("vm-r").map((actor) => actor.uan)).toEqual([uan]);
    second.mediator.sendMessage(uan, "after");
    await waitUntil("the second message", async () => (await recorded(second.mediator, uan)).length === 2);
    expect(await recorded(second.mediator, uan)).toEqual(["before", "after"]);
  });

  it("refuses to stop a theater that still hosts actors unless forced", async () => {
    const { mediator, address } = await startMediator();
    mediator.expectTheater("vm-s", "s");
    const theater = startTheater("vm-s", address, "s");
    await theater.start();
    await mediator.spawnActors("vm-s", [{ uan: "uan://probe/resident", behavior: RECORDER_BEHAVIOR, init: null }]);
    await expect(mediator.stopTheater("vm-s")).rejects.toThrow(/still hosts 1 actors/);
    expect(mediator.theater("vm-s")).toBeDefined();
    await mediator.stopTheater("vm-s", { force: true });
    await theater.stopped;
    expect(mediator.theater("vm-s")).toBeUndefined();
    expect(mediator.listActors()).toEqual([]);
  });

  it("waits for an actor to reach its safe point, and reports the ones that cannot", async () => {
    // Not at a safe point until told to settle: a prepared actor must keep processing until then.
    const stubborn: ActorBehavior<{ settled: boolean }, string> = {
      init: () => ({ settled: false }),
      receive: (state, message) => ({ settled: state.settled || message === "settle" }),
      isSafePoint: (state) => state.settled,
    };
    const { mediator, address } = await startMediator();
    mediator.expectTheater("vm-t", "s");
    const theater = new Theater({
      vmId: "vm-t",
      mediator: address,
      secret: "s",
      behaviors: { ...builtinBehaviors, stubborn },
      log: () => {},
    });
    cleanups.push(() => theater.stop());
    await theater.start();
    await mediator.spawnActors("vm-t", [
      { uan: "uan://probe/easy", behavior: RECORDER_BEHAVIOR, init: null },
      { uan: "uan://probe/stubborn", behavior: "stubborn", init: null },
    ]);
    const timedOut = await mediator.awaitReady(
      "vm-t",
      ["uan://probe/easy", "uan://probe/stubborn", "uan://probe/elsewhere"],
      300,
    );
    expect(timedOut).toEqual({ ready: ["uan://probe/easy"], notReady: ["uan://probe/stubborn", "uan://probe/elsewhere"] });

    const barrier = mediator.awaitReady("vm-t", "all", 10_000);
    mediator.sendMessage("uan://probe/stubborn", "settle");
    expect(await barrier).toEqual({ ready: ["uan://probe/easy", "uan://probe/stubborn"], notReady: [] });
  });
});
