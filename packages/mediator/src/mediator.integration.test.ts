import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Channel, RECORDER_BEHAVIOR, REGISTRATION_REFUSED_PREFIX, THEATER_EXIT_CODES, type RecorderState } from "@malleo/actors";
import { heatActorSpecs, heatAssemble, heatSequential, isHeatSlabState, type HeatConfig } from "@malleo/examples";
import { waitUntil } from "@malleo/testing";
import { TheaterLab, connectAsPeer, mediatorTlsSocket } from "./testing";

// Throttled so that the ready barriers land mid-run (checked below); the arithmetic does not
// depend on it: the grid must come out bit-identical whatever the timing.
const HEAT: HeatConfig = { width: 64, height: 48, actors: 16, maxIterations: 200, iterationDelayMs: 4 };
const EXPECTED_GRID = heatSequential(HEAT.width, HEAT.height, 200);

function sameBits(a: Float64Array, b: Float64Array): boolean {
  return (
    a.length === b.length &&
    Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength))
  );
}

async function iterationsOf(lab: TheaterLab, uans: string[]): Promise<number[]> {
  const states = await lab.mediator.collectStates(uans);
  return [...states.values()].map((state) => (isHeatSlabState(state) ? state.iteration : NaN));
}

describe("mediator with real theater processes", () => {
  const lab = new TheaterLab();
  beforeAll(() => lab.start());
  afterAll(() => lab.cleanup());

  it("refuses a theater with a wrong secret or an unexpected VM id", async () => {
    const wrongSecret = lab.spawn("vm-wrong-secret", { secret: "guess", expectedSecret: "the-real-one" });
    const unexpected = lab.spawn("vm-unexpected", { expectedSecret: null });
    expect(await wrongSecret.exited).toBe(THEATER_EXIT_CODES.refused);
    expect(await unexpected.exited).toBe(THEATER_EXIT_CODES.refused);
    expect(lab.mediator.theater("vm-wrong-secret")).toBeUndefined();
    expect(lab.mediator.theater("vm-unexpected")).toBeUndefined();
    expect(lab.log("vm-wrong-secret")).toContain("wrong secret for VM vm-wrong-secret");

    // On the wire: TLS on the VM's real key, then an admission with another secret: the refusal
    // carries its reason, then the Mediator closes the connection.
    const channel = new Channel(await mediatorTlsSocket(lab.address, "vm-wrong-secret", "the-real-one"));
    const admit = { type: "admit", vmId: "vm-wrong-secret", secret: "guess", address: "127.0.0.1:1", pid: 1 };
    await expect(channel.requestJson(admit, 5_000)).rejects.toThrow(
      `${REGISTRATION_REFUSED_PREFIX}wrong secret for VM vm-wrong-secret`,
    );
    await expect(channel.closed).resolves.toBeTypeOf("string");
  });

  it("splits then merges 16 running heat actors and the grid stays bit-identical", async () => {
    await lab.boot(["heat-a", "heat-b", "heat-c", "heat-d"]);
    const specs = heatActorSpecs("heat-split-merge", HEAT);
    const uans = specs.map((spec) => spec.uan);
    const firstHalf = uans.slice(0, 8);
    const secondHalf = uans.slice(8);
    await lab.mediator.spawnActors("heat-a", specs);
    expect(lab.mediator.listActors("heat-a")).toHaveLength(16);

    // Split: A → B and C, while the actors are mid-run.
    await waitUntil("every actor past iteration 30 on A", () => lab.minIteration(uans) >= 30);
    const readyOnA = await lab.mediator.awaitReady("heat-a", "all", 10_000);
    expect(readyOnA.notReady).toEqual([]);
    expect(readyOnA.ready.sort()).toEqual([...uans].sort());
    const heldAtSplit = await iterationsOf(lab, uans);
    expect(Math.max(...heldAtSplit)).toBeLessThan(200); // the split really happens mid-run
    const [toB, toC] = await Promise.all([
      lab.mediator.migrate(firstHalf, "heat-a", "heat-b"),
      lab.mediator.migrate(secondHalf, "heat-a", "heat-c"),
    ]);
    expect(toB.moved).toBe(8);
    expect(toC.moved).toBe(8);
    expect(toB.bytes).toBeGreaterThan(8 * 3 * HEAT.width * 8); // at least the slabs themselves
    expect(lab.mediator.listActors("heat-a")).toEqual([]);
    expect(await iterationsOf(lab, uans)).toEqual(heldAtSplit); // held: nothing advanced in transit
    await Promise.all([lab.mediator.resume("heat-b"), lab.mediator.resume("heat-c")]);

    // Merge: B and C → D, again mid-run.
    await waitUntil("every actor past iteration 100 on B and C", () => lab.minIteration(uans) >= 100);
    const [readyOnB, readyOnC] = await Promise.all([
      lab.mediator.awaitReady("heat-b", "all", 10_000),
      lab.mediator.awaitReady("heat-c", "all", 10_000),
    ]);
    expect([...readyOnB.ready, ...readyOnC.ready].sort()).toEqual([...uans].sort());
    const heldAtMerge = await iterationsOf(lab, uans);
    expect(Math.max(...heldAtMerge)).toBeLessThan(200);
    await Promise.all([
      lab.mediator.migrate(firstHalf, "heat-b", "heat-d"),
      lab.mediator.migrate(secondHalf, "heat-c", "heat-d"),
    ]);
    await lab.mediator.resume("heat-d");
    expect(lab.mediator.listActors("heat-d")).toHaveLength(16);

    await waitUntil("every actor at iteration 200 on D", () =>
      uans.every((uan) => lab.progress.get(uan)?.iteration === 200 && lab.progress.get(uan)?.vmId === "heat-d"),
    );
    const grid = heatAssemble(HEAT, await lab.mediator.collectStates(uans));
    expect(grid.length).toBe(EXPECTED_GRID.length);
    expect(sameBits(grid, EXPECTED_GRID)).toBe(true);

    // The emptied sources can now be stopped gracefully and forgotten.
    await Promise.all(["heat-a", "heat-b", "heat-c"].map((vmId) => lab.mediator.stopTheater(vmId)));
    expect(lab.mediator.theater("heat-b")).toBeUndefined();
    expect(lab.lost).not.toContain("heat-b");
  });

  it("moves some actors while their neighbours keep running, and back, without losing a ghost row", async () => {
    await lab.boot(["live-a", "live-b"]);
    const specs = heatActorSpecs("heat-live", HEAT);
    const uans = specs.map((spec) => spec.uan);
    const odd = uans.filter((_, index) => index % 2 === 1);
    await lab.mediator.spawnActors("live-a", specs);

    // Only the odd slabs stop; the even ones keep sending them rows during and after the move,
    // which the old theater must buffer or forward.
    await waitUntil("every actor past iteration 20", () => lab.minIteration(uans) >= 20);
    expect((await lab.mediator.awaitReady("live-a", odd, 10_000)).notReady).toEqual([]);
    await lab.mediator.migrate(odd, "live-a", "live-b");
    await lab.mediator.resume("live-b");
    await waitUntil("every actor past iteration 80", () => lab.minIteration(uans) >= 80);
    expect((await lab.mediator.awaitReady("live-b", "all", 10_000)).notReady).toEqual([]);
    expect(Math.max(...(await iterationsOf(lab, odd)))).toBeLessThan(200);
    await lab.mediator.migrate(odd, "live-b", "live-a");
    await lab.mediator.resume("live-a", odd);

    await waitUntil("every actor at iteration 200", () => uans.every((uan) => lab.progress.get(uan)?.iteration === 200));
    expect(lab.mediator.listActors("live-a")).toHaveLength(16);
    expect(sameBits(heatAssemble(HEAT, await lab.mediator.collectStates(uans)), EXPECTED_GRID)).toBe(true);
  });

  it("forwards messages sent to an actor's old theater, even while that theater stops", async () => {
    await lab.boot(["fwd-old", "fwd-new"]);
    const uan = "uan://probe/recorder";
    await lab.mediator.spawnActors("fwd-old", [{ uan, behavior: RECORDER_BEHAVIOR, init: null }]);
    const oldAddress = lab.mediator.theater("fwd-old")!.address;
    const staleSender = await connectAsPeer(oldAddress, lab.mediator.peerKey); // connected before the move, like a peer with a stale cache
    await lab.mediator.awaitReady("fwd-old", [uan], 5_000);
    await lab.mediator.migrate([uan], "fwd-old", "fwd-new");
    await lab.mediator.resume("fwd-new");

    const messages = Array.from({ length: 50 }, (_, index) => `late-${index}`);
    for (const body of messages) staleSender.send({ type: "deliver", to: uan, from: null, body, hops: 0 });
    const oldTheater = lab.mediator.theater("fwd-old")!;
    await lab.mediator.stopTheater("fwd-old"); // graceful: must pass on everything it received first

    const received = async () =>
      ((await lab.mediator.collectStates([uan])).get(uan) as RecorderState).received.map((entry) => entry.body);
    await waitUntil("the late messages at the new theater", async () => (await received()).length >= messages.length);
    expect(await received()).toEqual(messages); // each exactly once, in order
    expect(lab.mediator.theater("fwd-old")).toBeUndefined();
    expect(lab.mediator.listActors().find((actor) => actor.uan === uan)?.vmId).toBe("fwd-new");
    await waitUntil("the stopped theater's process to end", () => {
      try {
        process.kill(oldTheater.pid, 0);
        return false;
      } catch {
        return true;
      }
    });
  });

  it("keeps the actors on the source when the target dies mid-migration", async () => {
    lab.spawn("crash-target", { fault: "crash-before-migration-ack" });
    await lab.boot(["crash-source"]);
    await lab.mediator.awaitTheater("crash-target", 20_000);
    const specs = heatActorSpecs("heat-crash", HEAT);
    const uans = specs.map((spec) => spec.uan);
    await lab.mediator.spawnActors("crash-source", specs);
    await waitUntil("every actor past iteration 30", () => lab.minIteration(uans) >= 30);
    expect((await lab.mediator.awaitReady("crash-source", "all", 10_000)).notReady).toEqual([]);
    const heldAt = await iterationsOf(lab, uans);
    expect(Math.max(...heldAt)).toBeLessThan(200);

    await expect(lab.mediator.migrate(uans.slice(0, 8), "crash-source", "crash-target")).rejects.toThrow(/failed/);
    await waitUntil("the target to be reported lost", () => lab.lost.includes("crash-target"));
    expect(lab.log("crash-target")).toContain("fault injected");
    expect(lab.mediator.listActors("crash-source")).toHaveLength(16);
    expect(await iterationsOf(lab, uans)).toEqual(heldAt); // still there, still held

    await lab.mediator.resume("crash-source");
    await waitUntil("every actor at iteration 200", () => uans.every((uan) => lab.progress.get(uan)?.iteration === 200));
    expect(sameBits(heatAssemble(HEAT, await lab.mediator.collectStates(uans)), EXPECTED_GRID)).toBe(true);
  });
});
