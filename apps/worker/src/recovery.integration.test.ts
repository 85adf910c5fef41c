// Checkpoints and recovery with real theater processes: heat diffusion is checkpointed, a
// theater is killed (SIGKILL), the worker restarts it and restores the whole application from
// the checkpoint, and the run ends bit-identical to the sequential kernel. Then a worker
// restart: the application comes back from its last checkpoint, falling back past a corrupt one.
import { mkdtempSync, renameSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { actorListByApplication } from "@malleo/db";
import { createTestDatabase, type TestDatabase } from "@malleo/db/admin";
import { testUriFile } from "@malleo/hypervisor";
import { heatActorSpecs, heatAssemble, heatSequential, isHeatSlabState, type HeatConfig } from "@malleo/examples";
import { submitSplit } from "@malleo/workflows";
import { seedApplicationVms, seedSimulatedHosts, waitFor } from "@malleo/testing";
import { loadWorkerEnv, type WorkerEnv } from "./env";
import { startWorker, type RunningWorker, type WorkerHooks } from "./worker";

const HEAT: HeatConfig = { width: 48, height: 32, actors: 8, maxIterations: 3000, iterationDelayMs: 2 };
const WARM: HeatConfig = { width: 32, height: 16, actors: 4, maxIterations: 1500, iterationDelayMs: 20 };

let t: TestDatabase;
let worker: RunningWorker | undefined;
let dataDir: string;
let env: WorkerEnv;
const vmIds = new Map<string, string>();

// Holding an operation before a step (the beforeStep hook), to arrange a theater's death there.
let holdBefore: { step: string; reached: () => void; released: Promise<void> } | undefined;
const hooks: WorkerHooks = {
  wrapEffects: (e) => ({
    ...e,
    beforeStep: async (_operationId, step) => {
      const hold = holdBefore;
      if (hold?.step !== step) return;
      holdBefore = undefined;
      hold.reached();
      await hold.released;
    },
  }),
};

/** Seeds an application on two VMs (its first half on one, the rest on the other), as after a split. */
async function seedTwoVms(id: string, config: HeatConfig, hosts: [string, string]): Promise<void> {
  const ids = await seedApplicationVms(t.db, {
    applicationId: id,
    kind: "heat",
    config,
    vms: hosts.map((hostId, i) => ({ name: `${id}-${i + 1}`, hostId, vcpus: 2, memoryMiB: 1024 })),
  });
  ids.forEach((vmId, i) => vmIds.set(`${id}-${i + 1}`, vmId));
}

const app = (id: string) => t.db.application.findUniqueOrThrow({ where: { id } });

async function checkpoint(id: string) {
  const outcome = await worker!.checkpoints.take(id, "manual");
  if (!("written" in outcome)) throw new Error(`no checkpoint of ${id}: ${outcome.skipped}`);
  return outcome.written;
}

/** Waits for every slab's last iteration, then compares the grid with the sequential kernel's, bit for bit. */
async function expectBitIdentical(id: string, config: HeatConfig): Promise<void> {
  const uans = heatActorSpecs(id, config).map((s) => s.uan);
  const states = await waitFor(
    `${id} to reach iteration ${config.maxIterations}`,
    async () => {
      const states = await worker!.mediator.collectStates(uans);
      const done = [...states.values()].every((s) => isHeatSlabState(s) && s.iteration >= config.maxIterations!);
      return done ? states : undefined;
    },
    { timeoutMs: 180_000, intervalMs: 200, ignoreErrors: true },
  );
  const grid = heatAssemble(config, states);
  const expected = heatSequential(config.width, config.height, config.maxIterations!);
  expect(Buffer.from(grid.buffer).equals(Buffer.from(expected.buffer))).toBe(true);
}

beforeAll(async () => {
  t = await createTestDatabase({ systemDatabase: true });
  dataDir = mkdtempSync(path.join(os.tmpdir(), "malleo-recovery-"));
  await seedSimulatedHosts(t.db, dataDir);
  await seedTwoVms("heat", HEAT, ["pm-1", "pm-2"]);
  await seedTwoVms("warm", WARM, ["pm-3", "pm-3"]);
  env = loadWorkerEnv({
    DATABASE_URL: t.url,
    MALLEO_DATA_DIR: dataDir,
    MALLEO_EXECUTOR_ID: "recovery-worker",
    MALLEO_POLL_MS: "200",
    MALLEO_CHECKPOINT_MS: "0", // the tests take their checkpoints themselves
    MALLEO_THEATER_LOST_GRACE_MS: "500",
    MALLEO_RECONCILE_MS: "600000",
  });
  worker = await startWorker(env, hooks);
});

afterAll(async () => {
  await worker?.stop();
  await t?.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("checkpoints and recovery", () => {
  it("a killed theater is restarted and heat restored from its checkpoint on every VM; the grid ends bit-identical", async () => {
    await waitFor("heat to run", async () => ((await app("heat")).iteration > 50 ? true : undefined));
    const taken = await checkpoint("heat");
    expect(taken).toMatchObject({ sequence: 1, actors: HEAT.actors });
    expect(taken.iteration).toBeGreaterThan(0);
    expect(taken.iteration).toBeLessThan(HEAT.maxIterations!);
    const stored = await t.db.checkpoint.findFirstOrThrow({ where: { applicationId: "heat" } });
    expect(stored.bytes).toBe(stored.data.length);
    expect(stored.sha256).toMatch(/^[0-9a-f]{64}$/);

    // Well past the checkpoint when the theater dies: the progress shown must go back to it.
    await waitFor("heat to run past its checkpoint", async () =>
      (await app("heat")).iteration > taken.iteration + 200 ? true : undefined,
    );
    const lostVm = vmIds.get("heat-2")!;
    process.kill(worker!.vms.theaterPid(lostVm)!, "SIGKILL");
    await waitFor("the theater loss to be recorded", () =>
      t.db.auditEvent.findFirst({ where: { procedure: "theater.lost" } }).then((r) => r ?? undefined),
    );
    const recovered = await waitFor(
      "heat to be recovered",
      () => t.db.auditEvent.findFirst({ where: { procedure: "application.recovered" } }).then((r) => r ?? undefined),
      { timeoutMs: 60_000 },
    );
    expect(recovered.input).toMatchObject({ applicationId: "heat", restartedVms: ["heat-2"], checkpoint: { sequence: 1 } });
    expect(await app("heat")).toMatchObject({ status: "running", statusReason: null, restoreEpoch: 1 });
    // The recorded progress went back to the checkpoint's within the restore, before it was audited
    // (and before the application ran again): nobody reads the figure from before the loss.
    const restoredAudit = await t.db.auditEvent.findFirstOrThrow({
      where: { procedure: "checkpoint.restored", input: { path: ["applicationId"], equals: "heat" } },
    });
    const shownAtRestore = await t.db.applicationProgress.findFirstOrThrow({
      where: { applicationId: "heat", at: { lte: restoredAudit.at } },
      orderBy: { id: "desc" },
    });
    expect(shownAtRestore.iteration).toBe(taken.iteration);
    expect((await t.db.vm.findUniqueOrThrow({ where: { id: lostVm } })).state).toBe("running");
    // Every actor lives where Postgres places it, once.
    const hosted = new Map(worker!.mediator.listActors().map((a) => [a.uan, a.vmId]));
    for (const a of await actorListByApplication(t.db, "heat")) expect(hosted.get(a.uan), a.uan).toBe(a.vmId);

    await expectBitIdentical("heat", HEAT);
    // The other application was not touched.
    expect((await app("warm")).restoreEpoch).toBe(0);
  });

  it("after a worker restart the application resumes from its last checkpoint, skipping a corrupt one", async () => {
    const first = await checkpoint("warm");
    // A graceful stop checkpoints every application (warm's #2)…
    await worker!.stop();
    worker = undefined;
    const last = await t.db.checkpoint.findFirstOrThrow({ where: { applicationId: "warm" }, orderBy: { sequence: "desc" } });
    expect(last).toMatchObject({ sequence: first.sequence + 1, reason: "stop" });
    // …which is then damaged on disk: the restore must fall back to #1.
    await t.db
      .$executeRaw`UPDATE checkpoints SET data = overlay(data placing '\\x00'::bytea from 10 for 1) WHERE id = ${last.id}`;

    worker = await startWorker(env, hooks);
    const restored = await t.db.auditEvent.findFirstOrThrow({
      where: { procedure: "checkpoint.restored", input: { path: ["applicationId"], equals: "warm" } },
    });
    expect(restored.input).toMatchObject({ sequence: first.sequence, unusable: [{ sequence: last.sequence }] });
    expect((await app("warm")).restoreEpoch).toBe(1);
    await expectBitIdentical("warm", WARM);

    // Only the newest 3 checkpoints are kept.
    await checkpoint("warm");
    const newest = await checkpoint("warm");
    const kept = await t.db.checkpoint.findMany({ where: { applicationId: "warm" }, orderBy: { sequence: "asc" } });
    expect(kept.map((c) => c.sequence)).toEqual([newest.sequence - 2, newest.sequence - 1, newest.sequence]);
  });

  it("an operation that meets a dead source theater ends with the VM lost, never running; recovery then restores it", async () => {
    const source = vmIds.get("warm-1")!;
    let reached!: () => void;
    let release!: () => void;
    const atTransfer = new Promise<void>((r) => (reached = r));
    holdBefore = { step: "transfer", reached, released: new Promise<void>((r) => (release = r)) };
    const op = await submitSplit(t.db, { vmId: source, count: 2, targetHostIds: ["pm-1", "pm-2"] }, "tester");
    await atTransfer; // ready (actors held) and provision (targets running) are done
    process.kill(worker!.vms.theaterPid(source)!, "SIGKILL");
    await waitFor("warm-1's loss to be recorded", () =>
      t.db.auditEvent
        .findFirst({ where: { procedure: "theater.lost", input: { path: ["vm"], equals: "warm-1" } } })
        .then((r) => r ?? undefined),
    );
    expect((await t.db.vm.findUniqueOrThrow({ where: { id: source } })).state).toBe("lost");
    release();
    const ended = await waitFor("the split to end", async () => {
      const o = await t.db.operation.findUniqueOrThrow({ where: { id: op.id } });
      return ["succeeded", "failed", "rolled_back"].includes(o.status) ? o : undefined;
    });
    expect(ended.status).not.toBe("succeeded");
    // The targets were destroyed; the source was never shown running without its theater.
    const targets = await t.db.vm.findMany({ where: { createdBy: op.id } });
    expect(targets.map((v) => v.state)).toEqual(["deleted", "deleted"]);
    const recovered = await waitFor(
      "warm to be recovered",
      () =>
        t.db.auditEvent
          .findFirst({ where: { procedure: "application.recovered", input: { path: ["applicationId"], equals: "warm" } } })
          .then((r) => r ?? undefined),
      { timeoutMs: 60_000 },
    );
    expect(recovered.at.getTime()).toBeGreaterThanOrEqual(ended.finishedAt!.getTime());
    expect(recovered.input).toMatchObject({ restartedVms: ["warm-1"] });
    expect((await t.db.vm.findUniqueOrThrow({ where: { id: source } })).state).toBe("running");
    const hosted = new Map(worker!.mediator.listActors().map((a) => [a.uan, a.vmId]));
    for (const a of await actorListByApplication(t.db, "warm")) expect(hosted.get(a.uan), a.uan).toBe(a.vmId);
    await expectBitIdentical("warm", WARM);
  });

  it("a VM lost with its host unreachable is replaced on another host, and the application restored there", async () => {
    const lostVm = vmIds.get("heat-2")!;
    const hostFile = testUriFile((await t.db.host.findUniqueOrThrow({ where: { id: "pm-2" } })).uri)!;
    const before = await t.db.auditEvent.count({ where: { procedure: "application.recovered" } });
    // pm-2 goes away (its node file disappears, the connection drops) and takes heat-2's theater with it.
    renameSync(hostFile, `${hostFile}.away`);
    try {
      await worker!.vms.testing.disconnectHost("pm-2");
      process.kill(worker!.vms.theaterPid(lostVm)!, "SIGKILL");
      const recovered = await waitFor(
        "heat to be recovered on another host",
        async () => {
          const rows = await t.db.auditEvent.findMany({ where: { procedure: "application.recovered" }, orderBy: { id: "asc" } });
          return rows.length > before ? rows.at(-1) : undefined;
        },
        { timeoutMs: 60_000 },
      );
      expect(recovered.input).toMatchObject({
        applicationId: "heat",
        restartedVms: ["heat-2"],
        replaced: [{ vm: "heat-2", from: "pm-2", to: "pm-1" }],
      });
      const vm = await t.db.vm.findUniqueOrThrow({ where: { id: lostVm } });
      expect(vm).toMatchObject({ hostId: "pm-1", state: "running" });
      expect(await worker!.vms.connections().get("pm-1")!.domainGet("heat-2")).toMatchObject({ active: true });
      expect(await app("heat")).toMatchObject({ status: "running" });
      const hosted = new Map(worker!.mediator.listActors().map((a) => [a.uan, a.vmId]));
      for (const a of await actorListByApplication(t.db, "heat")) expect(hosted.get(a.uan), a.uan).toBe(a.vmId);
      await expectBitIdentical("heat", HEAT);
    } finally {
      renameSync(`${hostFile}.away`, hostFile);
    }
  });
});
