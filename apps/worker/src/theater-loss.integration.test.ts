// A theater that dies (SIGKILL of its process) is detected: its VM becomes `lost`, its
// application `degraded`, an audit record says what was lost and from which checkpoint it can
// come back, and reconciliation reports it. Recovery is off here, so the state stays visible.
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { actorListByApplication, actorMove, vmCreate } from "@malleo/db";
import { createTestDatabase, type TestDatabase } from "@malleo/db/admin";
import type { HeatConfig } from "@malleo/examples";
import { submitSplit } from "@malleo/workflows";
import { seedApplicationVm, seedSimulatedHosts } from "../../../scripts/seed";
import { waitFor } from "../../../scripts/wait";
import { loadWorkerEnv } from "./env";
import { startWorker, type RunningWorker } from "./worker";

const HEAT: HeatConfig = { width: 32, height: 16, actors: 4, maxIterations: null, iterationDelayMs: 5 };

let t: TestDatabase;
let worker: RunningWorker;
let dataDir: string;
let vm1: string;
let vm2: string;

beforeAll(async () => {
  t = await createTestDatabase();
  dataDir = mkdtempSync(path.join(os.tmpdir(), "malleo-theater-loss-"));
  await seedSimulatedHosts(t.db, dataDir);
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
  worker = await startWorker(
    loadWorkerEnv({
      DATABASE_URL: t.url,
      MALLEO_DATA_DIR: dataDir,
      MALLEO_EXECUTOR_ID: "theater-loss-worker",
      MALLEO_POLL_MS: "200",
      MALLEO_RECOVERY: "off",
      MALLEO_CHECKPOINT_MS: "0",
      MALLEO_THEATER_LOST_GRACE_MS: "500",
      MALLEO_RECONCILE_MS: "600000",
    }),
  );
});

afterAll(async () => {
  await worker?.stop();
  await t?.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("a theater that dies", () => {
  it("is shown at once: VM lost, application degraded, an audit record naming the VM, its actors and the checkpoint", async () => {
    await waitFor("heat to run", async () =>
      (await t.db.application.findUniqueOrThrow({ where: { id: "heat" } })).iteration > 10 ? true : undefined,
    );
    const outcome = await worker.checkpoints.take("heat", "manual");
    if (!("written" in outcome)) throw new Error(`no checkpoint: ${outcome.skipped}`);
    const checkpoint = await outcome.written;
    expect(checkpoint).toMatchObject({ sequence: 1, actors: HEAT.actors });

    const pid = worker.vms.theaterPid(vm2);
    expect(pid).toBeGreaterThan(0);
    process.kill(pid!, "SIGKILL");

    const vm = await waitFor("VM heat-2 to be lost", async () => {
      const v = await t.db.vm.findUniqueOrThrow({ where: { id: vm2 } });
      return v.state === "lost" ? v : undefined;
    });
    expect(vm.name).toBe("heat-2");
    const app = await t.db.application.findUniqueOrThrow({ where: { id: "heat" } });
    expect(app.status).toBe("degraded");
    expect(app.statusReason).toContain("VM heat-2 lost");
    expect(app.statusReason).toContain("2 actors");
    expect(app.statusReason).toContain(`checkpoint #1 (iteration ${checkpoint.iteration}`);
    const record = await t.db.auditEvent.findFirstOrThrow({ where: { procedure: "theater.lost" } });
    expect(record).toMatchObject({ actor: "worker", ok: false });
    expect(record.input).toMatchObject({
      vmId: vm2,
      vm: "heat-2",
      applicationId: "heat",
      actors: 2,
      checkpoint: { sequence: 1, iteration: checkpoint.iteration },
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
});
