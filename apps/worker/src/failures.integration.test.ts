// One named test per way a split or merge can fail, each asserting the end state: operation
// status and steps, where the actors are, which VMs and domains exist. Real parts throughout
// (Postgres, libvirt's test driver, theater processes); the failures are real too — a
// concurrent operation, a squatting domain, a theater that is too slow or dies, an unreachable
// host — arranged while a step is held by the `beforeStep` hook.
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AppError, type OperationPlan } from "@malleo/core";
import { createTestDatabase, type TestDatabase } from "@malleo/db/admin";
import { heatActorSpecs, heatAssemble, heatSequential, type HeatConfig } from "@malleo/examples";
import { cancelOperation, submitMerge, submitSplit } from "@malleo/workflows";
import { seedApplicationVm, seedSimulatedHosts, waitFor, waitForOperationEnd } from "@malleo/testing";
import { loadWorkerEnv } from "./env";
import { startWorker, type RunningWorker } from "./worker";

const HEAT: HeatConfig = { width: 48, height: 32, actors: 8, maxIterations: 12000, iterationDelayMs: 2 };
const SIDE: HeatConfig = { width: 16, height: 8, actors: 2, maxIterations: null, iterationDelayMs: 20 };

let t: TestDatabase;
let worker: RunningWorker;
let dataDir: string;

// ── Holding an operation at a step ─────────────────────────────────────────────────────────────
interface Hold {
  reached: Promise<string>;
  release(): void;
}
const holds = new Map<string, { reached: (opId: string) => void; released: Promise<void> }>();
function holdAt(step: string): Hold {
  let reached!: (opId: string) => void;
  let release!: () => void;
  const reachedP = new Promise<string>((r) => (reached = r));
  const released = new Promise<void>((r) => (release = r));
  holds.set(step, { reached, released });
  return { reached: reachedP, release };
}

const finished = (id: string) => waitForOperationEnd(t.db, id);
const stepOutcomes = (op: { steps: { name: string; status: string }[] }) => op.steps.map((s) => `${s.name}:${s.status}`);

const heatVms = () =>
  t.db.vm.findMany({ where: { applicationId: "heat", state: "running" }, include: { actors: true }, orderBy: { name: "asc" } });

async function assertNoOrphans(): Promise<void> {
  const live = await t.db.vm.findMany({ where: { state: { not: "deleted" } } });
  const domains = await worker.vms.listDomains();
  expect(domains.map((d) => d.name).sort()).toEqual(live.map((v) => v.name).sort());
  expect(live.filter((v) => v.state !== "running" || v.lockedBy !== null)).toEqual([]);
}

/** Every heat actor is hosted exactly where Postgres says, on a running VM. */
async function assertActorsWhereRecorded(): Promise<void> {
  const rows = await t.db.actor.findMany({ where: { applicationId: "heat" }, include: { vm: true } });
  const hosted = new Map(worker.mediator.listActors().map((a) => [a.uan, a.vmId]));
  expect(rows).toHaveLength(HEAT.actors);
  for (const r of rows) {
    expect(hosted.get(r.uan), r.uan).toBe(r.vmId);
    expect(r.vm.state).toBe("running");
  }
}

/** Called after each migration the workflow makes (a test's hook into the middle of Transfer). */
let afterMigrate: ((uans: string[], from: string, to: string) => Promise<void>) | undefined;

beforeAll(async () => {
  t = await createTestDatabase({ systemDatabase: true });
  dataDir = mkdtempSync(path.join(os.tmpdir(), "malleo-failures-"));
  await seedSimulatedHosts(t.db, dataDir);
  const vm = (name: string) => ({ name, hostId: "pm-1", vcpus: 4, memoryMiB: 8192 });
  await seedApplicationVm(t.db, { applicationId: "heat", kind: "heat", config: HEAT, vm: vm("heat-1") });
  await seedApplicationVm(t.db, { applicationId: "side", kind: "heat", config: SIDE, vm: vm("side-1") });
  worker = await startWorker(
    loadWorkerEnv({
      DATABASE_URL: t.url,
      MALLEO_DATA_DIR: dataDir,
      MALLEO_EXECUTOR_ID: "failures-worker",
      MALLEO_POLL_MS: "200",
      MALLEO_CLEANUP_RETRY_MS: "200",
      MALLEO_CLEANUP_RETRY_MAX_MS: "1000",
      // One actor a move, one move at a time: a test can act between two moves of a live Transfer.
      MALLEO_LIVE_CHUNK_ACTORS: "1",
      MALLEO_LIVE_MOVES_IN_FLIGHT: "1",
    }),
    {
      wrapEffects: (e) => ({
        ...e,
        migrateActors: async (uans, from, to, options) => {
          const r = await e.migrateActors(uans, from, to, options);
          await afterMigrate?.(uans, from, to);
          return r;
        },
        beforeStep: async (operationId, step) => {
          const hold = holds.get(step);
          if (!hold) return;
          holds.delete(step);
          hold.reached(operationId);
          await hold.released;
        },
      }),
    },
  );
});

afterAll(async () => {
  await worker?.stop();
  await t?.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("split and merge failure modes", () => {
  it("quota taken at Provision by a concurrent operation: refused at creation time and rolled back", async () => {
    await t.db.host.update({ where: { id: "pm-2" }, data: { vmQuota: 1 } });
    const [heat] = await heatVms();
    const hold = holdAt("provision");
    const first = await submitSplit(t.db, { vmId: heat!.id, count: 2, targetHostIds: ["pm-2", "pm-3"] }, "tester");
    expect(await hold.reached).toBe(first.id);
    // While the first holds between Validate and its reservation, another operation takes pm-2's only slot.
    const side = await t.db.vm.findFirstOrThrow({ where: { applicationId: "side", state: "running" } });
    const rival = await submitSplit(t.db, { vmId: side.id, count: 2, targetHostIds: ["pm-2", "pm-3"] }, "tester");
    expect((await finished(rival.id)).status).toBe("succeeded");
    hold.release();
    const op = await finished(first.id);
    expect(op.status).toBe("rolled_back");
    expect(op.error).toContain("host pm-2 has 0 of 1 VM slots free");
    expect(stepOutcomes(op)).toEqual(["validate:succeeded", "provision:failed", "rollback:succeeded"]);
    expect((await heatVms()).map((v) => [v.name, v.actors.length])).toEqual([["heat-1", HEAT.actors]]);
    await assertActorsWhereRecorded();
    await assertNoOrphans();
    await t.db.host.update({ where: { id: "pm-2" }, data: { vmQuota: 4 } });
  });

  it("libvirt refuses to create a domain: rolled back, the other target destroyed", async () => {
    const [heat] = await heatVms();
    const hold = holdAt("provision");
    const op0 = await submitSplit(t.db, { vmId: heat!.id, count: 2, targetHostIds: ["pm-3", "pm-3"] }, "tester");
    await hold.reached;
    // A domain not ours already holds the second target's name on pm-3: a real libvirt conflict.
    const plan = op0.plan as unknown as OperationPlan;
    const squatter = plan.targets[1]!.name;
    await worker.vms.connections().get("pm-3")!.domainCreate({ name: squatter, uuid: randomUUID(), vcpus: 1, memoryMiB: 256 });
    hold.release();
    const op = await finished(op0.id);
    expect(op.status).toBe("rolled_back");
    expect(op.error).toContain(squatter);
    expect(stepOutcomes(op)).toEqual(["validate:succeeded", "provision:failed", "rollback:succeeded"]);
    expect(await t.db.vm.count({ where: { createdBy: op.id, state: { not: "deleted" } } })).toBe(0);
    // The squatter is not ours: it is still there, and we remove it ourselves.
    expect((await worker.vms.listDomains()).some((d) => d.name === squatter)).toBe(true);
    await worker.vms.connections().get("pm-3")!.domainDestroy(squatter);
    await assertActorsWhereRecorded();
    await assertNoOrphans();
  });

  it("a new VM's theater never registers: timed out and rolled back", async () => {
    const [heat] = await heatVms();
    worker.vms.setTheaterTimeout(1);
    try {
      const op = await finished(
        (await submitSplit(t.db, { vmId: heat!.id, count: 2, targetHostIds: ["pm-2", "pm-3"] }, "tester")).id,
      );
      expect(op.status).toBe("rolled_back");
      expect(op.error).toMatch(/did not register within 1 ms/);
      expect(stepOutcomes(op)).toEqual(["validate:succeeded", "provision:failed", "rollback:succeeded"]);
    } finally {
      worker.vms.setTheaterTimeout(30_000);
    }
    await assertActorsWhereRecorded();
    await assertNoOrphans();
  });

  it("a target theater dies in the middle of Transfer: rolled back, every actor back on the source", async () => {
    const [heat] = await heatVms();
    worker.vms.testing.failNextTheater("crash-before-migration-ack");
    const op = await finished(
      (await submitSplit(t.db, { vmId: heat!.id, count: 2, targetHostIds: ["pm-2", "pm-3"] }, "tester")).id,
    );
    expect(op.status).toBe("rolled_back");
    expect(stepOutcomes(op)).toEqual([
      "validate:succeeded",
      "provision:succeeded",
      "checkpoint:succeeded",
      "transfer:failed",
      "rollback:succeeded",
    ]);
    expect((await heatVms()).map((v) => [v.name, v.actors.length])).toEqual([["heat-1", HEAT.actors]]);
    await assertActorsWhereRecorded();
    await assertNoOrphans();
    // The actor that died with the target is gone until recovery restores heat from the
    // operation's own checkpoint; until then heat is degraded and another split is refused at
    // submission (APPLICATION_DEGRADED). Recovery runs once no operation holds heat's VMs.
    await waitFor(
      "heat recovered from the split's checkpoint",
      async () => ((await t.db.application.findUniqueOrThrow({ where: { id: "heat" } })).status === "running" ? true : undefined),
      { timeoutMs: 60_000 },
    );
    await assertActorsWhereRecorded();
  });

  it("an operator cancels during the barrier: rolled back, naming who cancelled", async () => {
    const [heat] = await heatVms();
    const hold = holdAt("ready");
    const submitted = await submitSplit(
      t.db,
      { vmId: heat!.id, count: 2, targetHostIds: ["pm-2", "pm-3"], transfer: "barrier" },
      "tester",
    );
    await hold.reached;
    await cancelOperation(t.db, submitted.id, "alice");
    hold.release();
    const op = await finished(submitted.id);
    expect(op.status).toBe("rolled_back");
    expect(op.error).toContain("cancelled by alice");
    expect(stepOutcomes(op)).toEqual(["validate:succeeded", "provision:succeeded", "ready:succeeded", "rollback:succeeded"]);
    await assertActorsWhereRecorded();
    await assertNoOrphans();
  });

  it("an operator cancels in the middle of a live Transfer: what already moved is moved back, and runs", async () => {
    const [heat] = await heatVms();
    const submitted = await submitSplit(t.db, { vmId: heat!.id, count: 2, targetHostIds: ["pm-2", "pm-3"] }, "tester");
    let cancelled = false;
    afterMigrate = async (uans, _from, to) => {
      if (cancelled || !(submitted.plan as unknown as OperationPlan).targets.some((tg) => tg.id === to)) return;
      cancelled = true;
      // Some actors already run on a target: the cancel must bring them back.
      expect(
        worker.mediator
          .listActors()
          .filter((a) => a.vmId === to)
          .map((a) => a.uan),
      ).toEqual(expect.arrayContaining(uans));
      await cancelOperation(t.db, submitted.id, "alice");
    };
    try {
      const op = await finished(submitted.id);
      expect(cancelled).toBe(true);
      expect(op.status).toBe("rolled_back");
      expect(op.error).toContain("cancelled by alice during Transfer");
      expect(stepOutcomes(op)).toEqual([
        "validate:succeeded",
        "provision:succeeded",
        "checkpoint:succeeded",
        "transfer:failed",
        "rollback:succeeded",
      ]);
    } finally {
      afterMigrate = undefined;
    }
    expect((await heatVms()).map((v) => [v.name, v.actors.length])).toEqual([["heat-1", HEAT.actors]]);
    await assertActorsWhereRecorded();
    await assertNoOrphans();
    // Nothing is left held: the application makes progress again on the source.
    const before = (await t.db.application.findUniqueOrThrow({ where: { id: "heat" } })).iteration;
    await waitFor("heat to progress after the cancelled live transfer", async () =>
      (await t.db.application.findUniqueOrThrow({ where: { id: "heat" } })).iteration > before ? true : undefined,
    );
  });

  it("cancel after Transfer is refused with the reason, and the operation completes", async () => {
    const [heat] = await heatVms();
    const hold = holdAt("resume");
    const submitted = await submitSplit(
      t.db,
      { vmId: heat!.id, count: 2, targetHostIds: ["pm-2", "pm-3"], transfer: "barrier" },
      "tester",
    );
    await hold.reached;
    const refusal = await cancelOperation(t.db, submitted.id, "alice").catch((e: unknown) => e);
    expect(AppError.is(refusal) && refusal.code).toBe("CANCEL_TOO_LATE");
    expect((refusal as Error).message).toMatch(/has completed Transfer/);
    hold.release();
    expect((await finished(submitted.id)).status).toBe("succeeded");
    expect((await heatVms()).map((v) => [v.hostId, v.actors.length])).toEqual([
      ["pm-2", HEAT.actors / 2],
      ["pm-3", HEAT.actors / 2],
    ]);
    await assertActorsWhereRecorded();
    await assertNoOrphans();
  });

  it("a source host cannot be reached during Clean up: clean-up pending with retries, actors already on the target", async () => {
    const sources = await heatVms();
    const pm2 = await t.db.host.findUniqueOrThrow({ where: { id: "pm-2" } });
    // pm-2 goes away: its URI now names a file that does not exist, and its connection is closed.
    await t.db.host.update({ where: { id: "pm-2" }, data: { uri: `test://${dataDir}/gone/pm-2.xml` } });
    await worker.vms.testing.disconnectHost("pm-2");
    const submitted = await submitMerge(t.db, { vmIds: sources.map((v) => v.id), targetHostId: "pm-1" }, "tester");
    const pending = await waitFor("clean-up pending", async () => {
      const o = await t.db.operation.findUniqueOrThrow({ where: { id: submitted.id } });
      return o.status === "cleanup_pending" ? o : undefined;
    });
    expect(pending.waitingReason).toMatch(/clean-up pending: host pm-2 cannot be reached/);
    const target = (pending.plan as unknown as OperationPlan).targets[0]!;
    await waitFor("a second clean-up attempt", async () =>
      (await t.db.operationStep.count({ where: { operationId: submitted.id, name: "cleanup" } })) >= 2 ? true : undefined,
    );
    // The application already runs on the merged VM while clean-up waits.
    const hosted = worker.mediator.listActors().filter((a) => a.uan.startsWith("uan://heat/"));
    expect(hosted.every((a) => a.vmId === target.id)).toBe(true);
    await t.db.host.update({ where: { id: "pm-2" }, data: { uri: pm2.uri } });
    const op = await finished(submitted.id);
    expect(op.status).toBe("succeeded");
    expect(op.waitingReason).toBeNull();
    expect((await heatVms()).map((v) => [v.hostId, v.actors.length])).toEqual([["pm-1", HEAT.actors]]);
    await assertActorsWhereRecorded();
    await assertNoOrphans();
  });

  it("after all of that the heat grid is bit-identical to a sequential run", async () => {
    await waitFor(
      "heat to finish",
      async () =>
        (await t.db.application.findUniqueOrThrow({ where: { id: "heat" } })).iteration >= HEAT.maxIterations! ? true : undefined,
      { timeoutMs: 120_000 },
    );
    const uans = heatActorSpecs("heat", HEAT).map((s) => s.uan);
    const grid = heatAssemble(HEAT, await worker.mediator.collectStates(uans));
    expect(
      Buffer.from(grid.buffer).equals(Buffer.from(heatSequential(HEAT.width, HEAT.height, HEAT.maxIterations!).buffer)),
    ).toBe(true);
  });
});
