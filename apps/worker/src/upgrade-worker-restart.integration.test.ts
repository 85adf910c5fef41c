// A worker that starts while an upgrade holds a bundle application's VMs (the chaos suite's
// upgrade:worker:restart:vm1:rebooted: the worker died inside the restart step). Its theaters
// died with it, so its actors are missing. Before the restart step has begun, the starting worker
// restores them from the latest checkpoint as after any crash; once it has begun, it leaves them
// to the upgrade — its resumed restart (or its rollback) restores every actor on the version it
// records — instead of restoring them itself onto theaters of both versions, unmigrated. And the
// restart itself boots afresh a VM recorded lost meanwhile (the chaos suite's
// upgrade:theater:restart:vm1:rebooted: its rollback skipped that VM and failed).
// Real parts: embedded Postgres, libvirt's test driver, theater processes, DBOS, tally's bundles.
import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registerBundle } from "@malleo/api";
import { operationCreateWithLocks, operationReleaseLocks, stepStart, vmMarkLost } from "@malleo/db";
import { createTestDatabase, type TestDatabase } from "@malleo/db/admin";
import { buildBundle } from "@malleo/sdk/bundle/build";
import { submitDeploy } from "@malleo/workflows";
import { seedSimulatedHosts, waitFor, waitForOperationEnd } from "@malleo/testing";
import { loadWorkerEnv, type WorkerEnv } from "./env";
import type { TallyState } from "./test-fixtures/tally";
import { startWorker, type RunningWorker } from "./worker";

let t: TestDatabase;
let worker: RunningWorker | undefined;
let dataDir: string;
let env: WorkerEnv;

async function register(version: 1 | 2) {
  const file = path.join(dataDir, `tally-v${version}.bundle.mjs`);
  await buildBundle(fileURLToPath(new URL(`./test-fixtures/tally-v${version}.ts`, import.meta.url)), file);
  expect(await registerBundle(t.db, readFileSync(file), "ada")).toMatchObject({ kind: "tally", created: true });
}

beforeAll(async () => {
  t = await createTestDatabase();
  dataDir = mkdtempSync(path.join(os.tmpdir(), "malleo-upgrade-restart-"));
  await seedSimulatedHosts(t.db, dataDir);
  await register(1);
  await register(2);
  env = loadWorkerEnv({
    DATABASE_URL: t.url,
    MALLEO_DATA_DIR: dataDir,
    MALLEO_EXECUTOR_ID: "upgrade-restart-worker",
    MALLEO_POLL_MS: "200",
    MALLEO_CHECKPOINT_MS: "0", // the test takes its checkpoint itself
    MALLEO_THEATER_LOST_GRACE_MS: "500",
    MALLEO_RECONCILE_MS: "600000",
  });
  worker = await startWorker(env);
}, 120_000);

afterAll(async () => {
  await worker?.stop();
  await t?.drop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

const restores = () => t.db.auditEvent.count({ where: { procedure: "checkpoint.restored" } });
const hosted = (uans: string[]) => worker!.mediator.listActors().filter((a) => uans.includes(a.uan));

/** An upgrade of tl holding its VMs, as a dead worker left it: running, its steps so far started. */
async function upgradeHolding(vmIds: string[], steps: string[]): Promise<string> {
  const id = randomUUID();
  await operationCreateWithLocks(t.db, {
    id,
    kind: "upgrade",
    input: { applicationId: "tl", version: "2.0.0" },
    plan: { kind: "upgrade", applicationId: "tl", sources: vmIds, targets: [] },
    vmIds,
    operator: "olga",
  });
  // Running: no worker hands it to DBOS again (only queued ones are), nothing resumes it here.
  await t.db.operation.update({ where: { id }, data: { status: "running", startedAt: new Date() } });
  for (const name of steps) await stepStart(t.db, id, name, 1);
  return id;
}

/** The worker dies (its theaters with it: their actors are gone) and starts again. */
async function restartWorker(): Promise<void> {
  await worker!.stop();
  worker = undefined;
  worker = await startWorker(env);
}

describe("a worker starting during an upgrade", () => {
  it("restores the missing actors before the restart step, and leaves them to the upgrade once it has begun", async () => {
    const accepted = await submitDeploy(
      t.db,
      {
        applicationId: "tl",
        kind: "tally",
        version: "1.0.0",
        config: { actors: 4, intervalMs: 20 },
        vms: [
          { hostId: "pm-1", vcpus: 2, memoryMiB: 2048 },
          { hostId: "pm-2", vcpus: 2, memoryMiB: 2048 },
        ],
      },
      "olga",
    );
    expect((await waitForOperationEnd(t.db, accepted.id, { timeoutMs: 90_000 })).status).toBe("succeeded");
    const uans = (await t.db.actor.findMany({ where: { applicationId: "tl" }, orderBy: { ordinal: "asc" } })).map((a) => a.uan);
    const vmIds = (await t.db.vm.findMany({ where: { applicationId: "tl" } })).map((v) => v.id);
    await waitFor(
      "tally to tick",
      async () =>
        ([...(await worker!.mediator.collectStates(uans)).values()] as TallyState[]).every((s) => s.ticks > 10) || undefined,
      { ignoreErrors: true },
    );
    const taken = await worker!.checkpoints.take("tl", "manual");
    if (!("written" in taken)) throw new Error(`no checkpoint: ${taken.skipped}`);
    await taken.written;

    // Validated and checkpointed, not restarting yet: the theaters are gone, the worker brings the actors back.
    const early = await upgradeHolding(vmIds, ["validate", "checkpoint"]);
    const before = await restores();
    await restartWorker();
    expect(await restores()).toBe(before + 1);
    expect(hosted(uans)).toHaveLength(uans.length);
    await operationReleaseLocks(t.db, early);
    await t.db.operation.update({ where: { id: early }, data: { status: "rolled_back", finishedAt: new Date() } });

    // Its restart has begun (the new version recorded first): the worker leaves every actor to it.
    const late = await upgradeHolding(vmIds, ["validate", "checkpoint", "restart"]);
    await t.db.application.update({ where: { id: "tl" }, data: { bundleVersion: "2.0.0" } });
    const then = await restores();
    await restartWorker();
    expect(await restores()).toBe(then);
    expect(hosted(uans)).toEqual([]);
    // Not spawned from their initial states either: still nothing hosted a moment later.
    await new Promise((r) => setTimeout(r, 1_000));
    expect(hosted(uans)).toEqual([]);
    expect((await t.db.vm.findMany({ where: { applicationId: "tl", lockedBy: late } })).length).toBe(vmIds.length);

    // The upgrade's restart (a rollback's, here) meets a VM recorded lost: its theater died during
    // the restart. It is booted afresh with the others and every actor restored on it, once.
    await vmMarkLost(t.db, vmIds[0]!);
    const written = await taken.written;
    const restarted = await worker!.recovery.restartApplication("tl", written.sequence);
    expect(restarted.restartedVms).toHaveLength(vmIds.length);
    expect(hosted(uans)).toHaveLength(uans.length);
    expect((await t.db.vm.findMany({ where: { applicationId: "tl", state: "running" } })).length).toBe(vmIds.length);
    const at = new Map(worker!.mediator.listActors().map((a) => [a.uan, a.vmId]));
    for (const a of await t.db.actor.findMany({ where: { applicationId: "tl" } })) expect(at.get(a.uan), a.uan).toBe(a.vmId);
  }, 300_000);
});
