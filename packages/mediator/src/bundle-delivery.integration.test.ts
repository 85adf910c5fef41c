// Delivering an application's bundle to theaters started without its behaviors (in-process
// theaters, real TCP): fetched once per theater from the Mediator at the first spawn or the first
// migrated batch, checked against its sha256, imported, and the application runs on as if its
// behaviors had been there from the start — the heat grid bit-identical after a streamed
// migration onto a theater that had to fetch it mid-transfer. A real theater process whose bundle
// blocks its event loop as it loads (as any bundle's import does for seconds in a guest under
// software emulation) keeps its connection through the missed heartbeats, for a bounded grace.
import { createHash } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { Theater, builtinBehaviors, spawnLocalTheater, type BehaviorRegistry, type BundleReply } from "@malleo/actors";
import { heatActorSpecs, heatAssemble, heatBehaviors, heatSequential, isHeatSlabState, type HeatConfig } from "@malleo/examples";
import { waitUntil } from "@malleo/testing";
import { Mediator } from "./mediator";

const HEAT: HeatConfig = { width: 48, height: 40, actors: 8, maxIterations: 300, iterationDelayMs: 2 };

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

const BYTES = new TextEncoder().encode("export const heat = 'the bundle of the test';");
const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

async function lab(bundleFor: (applicationId: string) => Promise<BundleReply | null>, vmIds: string[]) {
  const served: string[] = [];
  const imported: string[] = [];
  const mediator = new Mediator({
    migrationTimeoutMs: 10_000,
    bundleFor: (applicationId, vmId) => {
      served.push(`${applicationId}@${vmId}`);
      return bundleFor(applicationId);
    },
    log: () => {},
  });
  const { address } = await mediator.start();
  cleanups.push(() => mediator.stop());
  for (const vmId of vmIds) {
    mediator.expectTheater(vmId, `secret-${vmId}`);
    const theater = new Theater({
      vmId,
      mediator: address,
      secret: `secret-${vmId}`,
      behaviors: { ...builtinBehaviors }, // no heat: it comes as a bundle
      importBundle: (bundle): Promise<BehaviorRegistry> => {
        imported.push(`${bundle.kind}@${vmId}`);
        return Promise.resolve(heatBehaviors);
      },
      progressIntervalMs: 50,
      migrationBatchBytes: 2_048, // several batches: the later ones arrive while the bundle loads
      log: () => {},
    });
    cleanups.push(() => theater.stop());
    await theater.start();
  }
  return { mediator, served, imported };
}

describe("bundle delivery to theaters", () => {
  it("each theater fetches the bundle once, at its first spawn or migrated batch; the grid ends bit-identical", async () => {
    const { mediator, served, imported } = await lab(
      () => Promise.resolve({ kind: "heat", version: "1.0.0", sha256: sha256(BYTES), bytes: BYTES }),
      ["vm-a", "vm-b"],
    );
    const specs = heatActorSpecs("h", HEAT);
    const uans = specs.map((s) => s.uan);
    await mediator.spawnActors("vm-a", specs);
    expect(served).toEqual(["h@vm-a"]);
    expect(imported).toEqual(["heat@vm-a"]);
    await waitUntil("every slab past iteration 20", async () =>
      [...(await mediator.collectStates(uans)).values()].every((s) => isHeatSlabState(s) && s.iteration > 20),
    );
    // Mid-run, half the slabs move to a theater that has never seen heat.
    await mediator.migrate(uans.slice(4), "vm-a", "vm-b");
    await mediator.resume("vm-b");
    expect(served).toEqual(["h@vm-a", "h@vm-b"]);
    expect(imported).toEqual(["heat@vm-a", "heat@vm-b"]);
    expect(
      new Set(
        mediator
          .listActors()
          .filter((a) => a.vmId === "vm-b")
          .map((a) => a.uan),
      ),
    ).toEqual(new Set(uans.slice(4)));
    await waitUntil(
      "every slab at the last iteration",
      async () =>
        [...(await mediator.collectStates(uans)).values()].every((s) => isHeatSlabState(s) && s.iteration >= HEAT.maxIterations!),
      { timeoutMs: 60_000 },
    );
    const grid = heatAssemble(HEAT, await mediator.collectStates(uans));
    const expected = heatSequential(HEAT.width, HEAT.height, HEAT.maxIterations!);
    expect(Buffer.from(grid.buffer).equals(Buffer.from(expected.buffer))).toBe(true);
    // Behaviors a theater has are not fetched again, whichever application spawns them.
    await mediator.spawnActors("vm-b", heatActorSpecs("h2", { ...HEAT, actors: 2 }));
    expect(served).toHaveLength(2);
    expect(imported).toHaveLength(2);
  });

  it("refuses a bundle whose bytes do not match its sha256, and an application that runs none; no actor is installed", async () => {
    const { mediator, imported } = await lab(
      (app) =>
        Promise.resolve(
          app === "none" ? null : { kind: "heat", version: "1.0.0", sha256: sha256(new Uint8Array([1])), bytes: BYTES },
        ),
      ["vm-c"],
    );
    await expect(mediator.spawnActors("vm-c", heatActorSpecs("bad", HEAT))).rejects.toThrow(
      /the heat 1\.0\.0 bundle arrived with sha256 [0-9a-f]{64}, not the registered [0-9a-f]{64}/,
    );
    await expect(mediator.spawnActors("vm-c", heatActorSpecs("none", HEAT))).rejects.toThrow(
      /application none runs no registered bundle/,
    );
    expect(imported).toEqual([]);
    expect(mediator.listActors()).toEqual([]);
  });
});

// Evaluating it blocks the theater's event loop for 1.5 s: five heartbeat timeouts below.
const SLOW_BYTES = new TextEncoder().encode(`
const end = Date.now() + 1500;
while (Date.now() < end) {}
export const slow = {
  kind: "slow",
  version: "1.0.0",
  description: "a bundle that takes long to load",
  configSchema: { safeParse: () => ({ success: true, data: {} }) },
  defaultConfig: {},
  actors: () => [],
  behaviors: { "slow.idle": { init: () => ({}), receive: (state) => state } },
};
`);

async function slowLoadingTheater(bundleLoadGraceMs: number | undefined) {
  const lost: string[] = [];
  const mediator = new Mediator({
    heartbeatMs: 100,
    heartbeatTimeoutMs: 300,
    bundleLoadGraceMs,
    bundleFor: () => Promise.resolve({ kind: "slow", version: "1.0.0", sha256: sha256(SLOW_BYTES), bytes: SLOW_BYTES }),
    log: () => {},
  });
  const { address } = await mediator.start();
  cleanups.push(() => mediator.stop());
  mediator.onTheaterLost((vmId) => lost.push(vmId));
  const secret = randomBytes(16).toString("hex");
  mediator.expectTheater("vm-slow", secret);
  // The theater entry itself (apps/theater), which imports a bundle as a guest's does.
  const theater = spawnLocalTheater({ vmId: "vm-slow", mediator: address, secret, logFile: "/dev/null" });
  cleanups.push(async () => {
    theater.kill();
    await theater.exited;
  });
  await mediator.awaitTheater("vm-slow", 60_000);
  return { mediator, lost };
}

describe("a bundle that blocks the theater as it loads", () => {
  it("keeps the theater's connection through the heartbeats it misses meanwhile", async () => {
    const { mediator, lost } = await slowLoadingTheater(undefined);
    await mediator.spawnActors("vm-slow", [{ uan: "uan://s/a", behavior: "slow.idle", init: {} }]);
    expect(mediator.listActors("vm-slow").map((a) => a.uan)).toEqual(["uan://s/a"]);
    // Answering again once loaded: a later spawn needs no bundle and is not held up.
    await mediator.spawnActors("vm-slow", [{ uan: "uan://s/b", behavior: "slow.idle", init: {} }]);
    expect(lost).toEqual([]);
  });

  it("loses it still when it stays silent past the grace", async () => {
    const { mediator, lost } = await slowLoadingTheater(500);
    await expect(mediator.spawnActors("vm-slow", [{ uan: "uan://s/a", behavior: "slow.idle", init: {} }])).rejects.toThrow(
      /no answer to a heartbeat within 300 ms/,
    );
    await waitUntil("the theater to be lost", () => lost.includes("vm-slow"));
  });
});
