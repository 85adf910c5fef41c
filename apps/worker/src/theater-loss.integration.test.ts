// A theater that dies (SIGKILL of its process) is detected: its VM becomes `lost`, its
// application `degraded`, an audit record says what was lost and from which checkpoint it can
// come back, and reconciliation reports it. Recovery is off here, so the state stays visible.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { actorListByApplication, actorMove, vmCreate } from "@malleo/db";
import { createTestDatabase, type TestDatabase } from "@malleo/db/admin";
import type { HeatConfig } from "@malleo/examples";
import { submitMerge, submitSplit } from "@malleo/workflows";
import { seedApplicationVm, waitFor } from "@malleo/testing";
import { startTestWorker, type TestWorker } from "@malleo/testing/worker";
import type { RunningWorker } from "./worker";

const HEAT: HeatConfig = { width: 32, height: 16, actors: 4, maxIterations: null, iterationDelayMs: 5 };

let t: TestDatabase;
let running: TestWorker;
let worker: RunningWorker;
let vm1: string;
let vm2: string;

beforeAll(async () => {
  t = await createTestDatabase({ systemDatabase: true });
  running = await startTestWorker(t, {
    name: "theater-loss",
    seed: async () => {
      vm1 = await seedApplicationVm(t.db, {
        applicationId: "heat",
        kind: "heat",
        config: HEAT,
        vm: { name: "heat-1", hostId: "pm-1", vcpus: 2, memoryMiB: 2048 },
      });
      // A second VM holding the last two slabs, as a split would have left them.
      vm2 = randomUUID();
      await vmCreate(t.db, {
        id: vm2,
        name: "heat-2",
        hostId: "pm-2",
        applicationId: "heat",
        vcpus: 2,
        memoryMiB: 2048,
        state: "running",
      });
      const actors = await actorListByApplication(t.db, "heat");
      await actorMove(
        t.db,
        actors.slice(2).map((a) => a.uan),
        vm2,
      );
      await t.db.application.update({ where: { id: "heat" }, data: { checkpointIntervalMs: 300 } });
    },
    env: {
      MALLEO_RECOVERY: "off",
      MALLEO_CHECKPOINT_MS: "0", // but heat has its own interval (below)
      MALLEO_THEATER_HEARTBEAT_MS: "200",
      MALLEO_THEATER_HEARTBEAT_TIMEOUT_MS: "1000",
      MALLEO_THEATER_LOST_GRACE_MS: "500",
      MALLEO_RECONCILE_MS: "600000",
    },
  });
  worker = running.worker;
});

afterAll(async () => {
  await running?.stop();
  await t?.drop();
});

describe("a theater that dies", () => {
  it("is shown at once: VM lost, application degraded, an audit record naming the VM, its actors and the checkpoint", async () => {
    await waitFor("heat to run", async () =>
      (await t.db.application.findUniqueOrThrow({ where: { id: "heat" } })).iteration > 10 ? true : undefined,
    );
    // Heat's own interval (300 ms) takes periodic checkpoints.
    await waitFor("two periodic checkpoints", async () =>
      (await t.db.checkpoint.count({ where: { applicationId: "heat", reason: "periodic" } })) >= 2 ? true : undefined,
    );

    const pid = worker.vms.theaterPid(vm2);
    expect(pid).toBeGreaterThan(0);
    process.kill(pid!, "SIGKILL");

    // The record is the last of what a loss writes (VM, application, audit).
    await waitFor("heat-2's loss to be recorded", () =>
      t.db.auditEvent.findFirst({ where: { procedure: "theater.lost" } }).then((r) => r ?? undefined),
    );
    const vm = await t.db.vm.findUniqueOrThrow({ where: { id: vm2 } });
    expect(vm.state).toBe("lost");
    // No checkpoint is taken once an actor is gone: the record names the last one.
    const checkpoint = await t.db.checkpoint.findFirstOrThrow({
      where: { applicationId: "heat" },
      orderBy: { sequence: "desc" },
    });
    expect(checkpoint).toMatchObject({ reason: "periodic", actors: HEAT.actors });
    expect(vm.name).toBe("heat-2");
    const app = await t.db.application.findUniqueOrThrow({ where: { id: "heat" } });
    expect(app.status).toBe("degraded");
    expect(app.statusReason).toContain("VM heat-2 lost");
    expect(app.statusReason).toContain("2 actors");
    expect(app.statusReason).toContain(`checkpoint #${checkpoint.sequence} (iteration ${checkpoint.iteration}`);
    const record = await t.db.auditEvent.findFirstOrThrow({ where: { procedure: "theater.lost" } });
    expect(record).toMatchObject({ actor: "worker", ok: false });
    expect(record.input).toMatchObject({
      vmId: vm2,
      vm: "heat-2",
      applicationId: "heat",
      actors: 2,
      checkpoint: { sequence: checkpoint.sequence, iteration: checkpoint.iteration },
    });
    // The surviving VM stays running.
    expect((await t.db.vm.findUniqueOrThrow({ where: { id: vm1 } })).state).toBe("running");

    // Reconciliation reports it (and does not take the lost VM's domain for an orphan).
    const findings = await worker.reconcile();
    expect(findings.get("pm-2")?.map((f) => [f.kind, f.domainName])).toEqual([["lost", "heat-2"]]);
    const open = await t.db.reconcileFinding.findMany({ where: { resolvedAt: null } });
    expect(open.map((f) => [f.kind, f.domainName])).toEqual([["lost", "heat-2"]]);

    // A lost VM takes no new operation.
    await expect(submitSplit(t.db, { vmId: vm2, count: 2, targetHostIds: ["pm-2", "pm-3"] }, "tester")).rejects.toThrow();
  });

  it("leaves its application's surviving VMs refusing a split or merge at submission, with what to do, changing nothing", async () => {
    const app = await t.db.application.findUniqueOrThrow({ where: { id: "heat" } });
    expect(app.status).toBe("degraded");
    const before = { operations: await t.db.operation.count(), vms: await t.db.vm.findMany({ orderBy: { name: "asc" } }) };
    const expected = `application heat is degraded: ${app.statusReason}; restore it from a checkpoint first (applications.restore) or wait for automatic recovery`;
    // heat-1 still runs: without the rule the split would be accepted and fail at its Checkpoint step.
    await expect(submitSplit(t.db, { vmId: vm1, count: 2, targetHostIds: ["pm-1", "pm-3"] }, "tester")).rejects.toMatchObject({
      code: "APPLICATION_DEGRADED",
      message: expected,
    });
    await expect(submitMerge(t.db, { vmIds: [vm1, vm2], targetHostId: "pm-3" }, "tester")).rejects.toMatchObject({
      code: "APPLICATION_DEGRADED",
      message: expected,
    });
    await t.db.application.update({ where: { id: "heat" }, data: { autoRecovery: false } });
    await expect(submitSplit(t.db, { vmId: vm1, count: 2, targetHostIds: ["pm-1", "pm-3"] }, "tester")).rejects.toMatchObject({
      message: expect.stringContaining("automatic recovery is off for it: restore it from a checkpoint first"),
    });
    await t.db.application.update({ where: { id: "heat" }, data: { autoRecovery: true } });
    // No operation row, no lock, no VM row.
    expect(await t.db.operation.count()).toBe(before.operations);
    expect(await t.db.vm.findMany({ orderBy: { name: "asc" } })).toEqual(before.vms);
  });

  it("that hangs (SIGSTOP: its connection stays open) is found by the heartbeat and lost the same way", async () => {
    const pid = worker.vms.theaterPid(vm1);
    expect(pid).toBeGreaterThan(0);
    process.kill(pid!, "SIGSTOP");
    try {
      const record = await waitFor("heat-1's loss to be recorded", () =>
        t.db.auditEvent
          .findFirst({ where: { procedure: "theater.lost", input: { path: ["vm"], equals: "heat-1" } } })
          .then((r) => r ?? undefined),
      );
      expect((await t.db.vm.findUniqueOrThrow({ where: { id: vm1 } })).state).toBe("lost");
      expect(record.input).toMatchObject({ vmId: vm1, actors: 2 });
    } finally {
      try {
        process.kill(pid!, "SIGCONT");
      } catch {
        // killed as lost: gone already
      }
    }
  });
});
