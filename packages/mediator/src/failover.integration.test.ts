// Mediator failover with real theater processes: two Mediators (as two workers would run), the
// theaters started knowing only the first and learning the second from its registration reply.
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  RECORDER_BEHAVIOR,
  THEATER_EXIT_CODES,
  spawnLocalTheater,
  type LocalTheaterProcess,
  type RecorderState,
} from "@malleo/actors";
import { heatActorSpecs, heatAssemble, heatSequential, isHeatSlabState, type HeatConfig } from "@malleo/examples";
import { Mediator } from "./mediator";
import { waitUntil } from "@malleo/testing";

// Fixed ports of this suite's range (25000–25999), so the theaters can be told where both are.
const FIRST_PORT = 25010;
const SECOND_PORT = 25011;
const HEAT: HeatConfig = { width: 64, height: 48, actors: 12, maxIterations: 400, iterationDelayMs: 4 };
const EXPECTED_GRID = heatSequential(HEAT.width, HEAT.height, HEAT.maxIterations!);

const cleanups: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

function sameBits(a: Float64Array, b: Float64Array): boolean {
  return (
    a.length === b.length &&
    Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength))
  );
}

interface Worker {
  mediator: Mediator;
  address: string;
  /** Highest heat iteration reported to this Mediator, per actor. */
  progress: Map<string, number>;
}

async function startWorkerMediator(port: number, peerKey: Buffer, everyMediator: () => string[]): Promise<Worker> {
  const mediator = new Mediator({ port, peerKey, mediatorAddresses: everyMediator, sourceLossGraceMs: 300 });
  const progress = new Map<string, number>();
  mediator.onProgress((event) => progress.set(event.uan, Math.max(event.iteration, progress.get(event.uan) ?? -1)));
  const { address } = await mediator.start();
  cleanups.push(() => mediator.stop());
  return { mediator, address, progress };
}

function startTheaterProcess(vmId: string, mediators: string[], logDir: string): LocalTheaterProcess {
  const theater = spawnLocalTheater({
    vmId,
    mediator: mediators,
    secret: `secret-${vmId}`,
    logFile: path.join(logDir, `${vmId}.log`),
  });
  cleanups.push(async () => {
    theater.kill();
    await theater.exited;
  });
  return theater;
}

function logDirectory(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "malleo-failover-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function heatIterations(mediator: Mediator, uans: string[]): Promise<number[]> {
  const states = await mediator.collectStates(uans);
  return [...states.values()].map((state) => (isHeatSlabState(state) ? state.iteration : NaN));
}

describe("mediator failover", () => {
  it("a theater re-registers with the second Mediator, with all its actors, when the first stops; nothing lost or doubled", async () => {
    const logDir = logDirectory();
    const peerKey = randomBytes(32); // shared by both workers (the worker keeps it in Postgres)
    const addresses = [`127.0.0.1:${FIRST_PORT}`, `127.0.0.1:${SECOND_PORT}`];
    const first = await startWorkerMediator(FIRST_PORT, peerKey, () => addresses);
    const second = await startWorkerMediator(SECOND_PORT, peerKey, () => addresses);
    for (const worker of [first, second])
      for (const vmId of ["fo-a", "fo-b"]) worker.mediator.expectTheater(vmId, `secret-${vmId}`);

    // Started knowing only the first Mediator: the second is learned from the registration reply.
    for (const vmId of ["fo-a", "fo-b"]) startTheaterProcess(vmId, [first.address], logDir);
    await Promise.all(["fo-a", "fo-b"].map((vmId) => first.mediator.awaitTheater(vmId, 20_000)));

    const heat = heatActorSpecs("heat-failover", HEAT);
    const uans = heat.map((spec) => spec.uan);
    const recorder = "uan://probe/failover-recorder";
    await first.mediator.spawnActors("fo-a", heat);
    await first.mediator.spawnActors("fo-b", [{ uan: recorder, behavior: RECORDER_BEHAVIOR, init: null }]);
    // Half the slabs on each theater, so the run depends on theater-to-theater messages throughout.
    const moved = uans.slice(HEAT.actors / 2);
    expect((await first.mediator.awaitReady("fo-a", moved, 10_000)).notReady).toEqual([]);
    await first.mediator.migrate(moved, "fo-a", "fo-b");
    await first.mediator.resume("fo-b", moved);
    await first.mediator.resume("fo-a");
    first.mediator.sendMessage(recorder, "via the first");
    await waitUntil("the heat run under way", () => Math.min(...uans.map((uan) => first.progress.get(uan) ?? -1)) >= 20);
    await waitUntil("the recorder's first message", () => first.progress.get(recorder) === 1);

    await first.mediator.stop();
    const lostAt = await Promise.all([
      second.mediator.awaitTheater("fo-a", 20_000),
      second.mediator.awaitTheater("fo-b", 20_000),
    ]);
    expect(lostAt.map((info) => info.vmId)).toEqual(["fo-a", "fo-b"]);
    // The second Mediator's directory was rebuilt from the theaters' registrations: every actor, where it lives.
    expect(second.mediator.listActors("fo-a").map((actor) => actor.uan)).toEqual(uans.slice(0, HEAT.actors / 2).sort());
    expect(second.mediator.listActors("fo-b").map((actor) => actor.uan)).toEqual([...moved, recorder].sort());
    const atFailover = await heatIterations(second.mediator, uans);
    expect(Math.max(...atFailover)).toBeLessThan(HEAT.maxIterations!); // the failover happened mid-run

    // The second Mediator drives the theaters now: external sends and a migration back.
    second.mediator.sendMessage(recorder, "via the second");
    expect((await second.mediator.awaitReady("fo-b", moved, 10_000)).notReady).toEqual([]);
    await second.mediator.migrate(moved, "fo-b", "fo-a");
    await second.mediator.resume("fo-a", moved);

    await waitUntil(
      "every slab at its last iteration",
      async () => (await heatIterations(second.mediator, uans)).every((iteration) => iteration === HEAT.maxIterations),
      60_000,
    );
    expect(sameBits(heatAssemble(HEAT, await second.mediator.collectStates(uans)), EXPECTED_GRID)).toBe(true);
    expect(second.mediator.listActors("fo-a")).toHaveLength(HEAT.actors);
    const received = ((await second.mediator.collectStates([recorder])).get(recorder) as RecorderState).received;
    expect(received.map((entry) => entry.body)).toEqual(["via the first", "via the second"]); // each exactly once

    for (const vmId of ["fo-a", "fo-b"]) {
      const log = readFileSync(path.join(logDir, `${vmId}.log`), "utf8");
      expect(log).toContain('"msg":"mediator list updated"');
      const lines = log
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines.some((l) => l.msg === "re-registered with the mediator" && l.mediator === second.address)).toBe(true);
    }
  });

  it("a theater refused by one Mediator of its list registers with the next that accepts it", async () => {
    const logDir = logDirectory();
    const key = randomBytes(32);
    const addresses: string[] = [];
    const stranger = await startWorkerMediator(FIRST_PORT, key, () => addresses);
    const owner = await startWorkerMediator(SECOND_PORT, key, () => addresses);
    addresses.push(stranger.address, owner.address);
    owner.mediator.expectTheater("fo-next", "secret-fo-next"); // the first does not expect it: a refusal
    const theater = startTheaterProcess("fo-next", addresses, logDir);
    await owner.mediator.awaitTheater("fo-next", 20_000);
    expect(stranger.mediator.theater("fo-next")).toBeUndefined();
    expect(owner.mediator.theater("fo-next")?.pid).toBe(theater.pid);
  });

  it("a theater refused by every Mediator of its list exits as refused, naming each refusal", async () => {
    const logDir = logDirectory();
    const key = randomBytes(32);
    const addresses: string[] = [];
    const one = await startWorkerMediator(FIRST_PORT, key, () => addresses);
    const other = await startWorkerMediator(SECOND_PORT, key, () => addresses);
    addresses.push(one.address, other.address);
    one.mediator.expectTheater("fo-refused", "not-this-secret");
    const theater = startTheaterProcess("fo-refused", addresses, logDir);
    expect(await theater.exited).toBe(THEATER_EXIT_CODES.refused);
    const log = readFileSync(path.join(logDir, "fo-refused.log"), "utf8");
    expect(log).toContain(`${one.address}: wrong secret for VM fo-refused`);
    expect(log).toContain(`${other.address}: no theater is expected for VM fo-refused`);
  });
});
