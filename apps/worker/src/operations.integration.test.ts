// The split/merge workflow end to end on real parts: embedded Postgres, libvirt's test driver,
// theater processes, the Mediator and DBOS — with the heat application running throughout.
import { mkdtempSync, renameSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "@malleo/db/admin";
import { heatActorSpecs, heatAssemble, heatSequential, type HeatConfig } from "@malleo/examples";
import { submitMerge, submitSplit } from "@malleo/workflows";
import { seedApplicationVm, seedSimulatedHosts, waitFor, waitForOperationEnd } from "@malleo/testing";
import { loadWorkerEnv } from "./env";
import { startWorker, type RunningWorker } from "./worker";

const HEAT: HeatConfig = { width: 64, height: 48, actors: 16, maxIterations: 4000, iterationDelayMs: 2 };
let SOURCE_ID: string;

let t: TestDatabase;
let worker: RunningWorker;
let dataDir: string;
/** The operation whose Provision finds pm-gone gone: the host vanishes just before that step. */
let breakHostBefore: string | undefined;

const terminal = (id: string) => waitForOperationEnd(t.db, id, { timeoutMs: 90_000 });

/** No domain without a live VM row and no live VM row without a domain, on every host. */
async function assertNoOrphans(): Promise<void> {
  // The test driver's state lives in the worker's own connections, so ask through them.
  const live = await t.db.vm.findMany({ where: { state: { not: "deleted" } } });
  const domains = await worker.vms.listDomains();
  expect(domains.map((d) => d.name).sort()).toEqual(live.map((v) => v.name).sort());
  expect(live.every((v) => v.state === "running" && v.lockedBy === null)).toBe(true);
}

beforeAll(async () => {
  t = await createTestDatabase({ systemDatabase: true });
  dataDir = mkdtempSync(path.join(os.tmpdir(), "malleo-ops-"));
  await seedSimulatedHosts(t.db, dataDir);
  // A host reachable when the split is accepted that goes away (its node file and connection)
  // just before Provision: a real unreachable target, met at creation time.
  await seedSimulatedHosts(t.db, dataDir, [{ id: "pm-gone", cpus: 8, memoryMiB: 16384, vmQuota: 4 }]);
  SOURCE_ID = await seedApplicationVm(t.db, {
    applicationId: "heat",
    kind: "heat",
    config: HEAT,
    vm: { name: "heat-1", hostId: "pm-1", vcpus: 4, memoryMiB: 8192 },
  });
  worker = await startWorker(
    loadWorkerEnv({ DATABASE_URL: t.url, MALLEO_DATA_DIR: dataDir, MALLEO_EXECUTOR_ID: "test-worker", MALLEO_POLL_MS: "200" }),
    {
      wrapEffects: (effects) => ({
        ...effects,
        beforeStep: async (operationId, step) => {
          if (operationId === breakHostBefore && step === "provision") {
            const file = path.join(dataDir, "hosts", "pm-gone.xml");
            renameSync(file, `${file}.away`);
            await worker.vms.testing.disconnectHost("pm-gone");
          }
          await effects.beforeStep?.(operationId, step);
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

describe("split and merge while heat diffusion runs", () => {
  it("rolls a split back when a target host cannot be reached: targets destroyed, actors resumed on the source", async () => {
    const op = await submitSplit(t.db, { vmId: SOURCE_ID, count: 2, targetHostIds: ["pm-2", "pm-gone"] }, "test");
    breakHostBefore = op.id;
    const done = await terminal(op.id);
    expect(done.status).toBe("rolled_back");
    expect(done.error).toContain("pm-gone");
    // Provision comes before anything is held: the application never paused for this failure.
    expect(done.steps.map((s) => [s.name, s.status])).toEqual([
      ["validate", "succeeded"],
      ["provision", "failed"],
      ["rollback", "succeeded"],
    ]);
    const source = await t.db.vm.findUniqueOrThrow({ where: { id: SOURCE_ID }, include: { actors: true } });
    expect(source.state).toBe("running");
    expect(source.actors).toHaveLength(HEAT.actors);
    expect(await t.db.vm.count({ where: { createdBy: op.id, state: { not: "deleted" } } })).toBe(0);
    await assertNoOrphans();
    // The application resumed: its progress moves on after the rollback.
    const before = (await t.db.application.findUniqueOrThrow({ where: { id: "heat" } })).iteration;
    await waitFor(
      "heat to progress after rollback",
      async () => {
        const now = (await t.db.application.findUniqueOrThrow({ where: { id: "heat" } })).iteration;
        return now > before ? true : undefined;
      },
      { timeoutMs: 90_000 },
    );
  });

  it("refuses at once a split onto a host the worker knows is unreachable, and changes nothing", async () => {
    // pm-gone stays away after the previous test; the worker marks it so.
    await waitFor("pm-gone marked unreachable", async () =>
      (await t.db.host.findUniqueOrThrow({ where: { id: "pm-gone" } })).status === "unreachable" ? true : undefined,
    );
    const opsBefore = await t.db.operation.count();
    const refusal = submitSplit(t.db, { vmId: SOURCE_ID, count: 2, targetHostIds: ["pm-2", "pm-gone"] }, "test");
    await expect(refusal).rejects.toMatchObject({ code: "HOST_UNREACHABLE" });
    await expect(refusal).rejects.toThrow(/host pm-gone is unreachable .*choose another target host/);
    expect(await t.db.operation.count()).toBe(opsBefore);
    expect((await t.db.vm.findUniqueOrThrow({ where: { id: SOURCE_ID } })).lockedBy).toBeNull();
  });

  it("splits heat-1 live onto two hosts, merges it back with a barrier, and the grid is bit-identical to a sequential run", async () => {
    const split = await submitSplit(t.db, { vmId: SOURCE_ID, count: 2, targetHostIds: ["pm-2", "pm-3"] }, "test");
    const splitDone = await terminal(split.id);
    expect(splitDone.error).toBeNull();
    expect(splitDone.status).toBe("succeeded");
    // Live (the default): no Ready or Resume; each actor held only while it moved.
    expect(splitDone.steps.filter((s) => s.status === "succeeded").map((s) => s.name)).toEqual([
      "validate",
      "provision",
      "checkpoint",
      "transfer",
      "cleanup",
    ]);
    expect(splitDone.transferMode).toBe("live");
    expect(splitDone.pauseMs).not.toBeNull();
    expect(splitDone.holdMaxMs).not.toBeNull();
    expect(splitDone.holdP50Ms!).toBeLessThanOrEqual(splitDone.holdMaxMs!);
    const transferDetail = splitDone.steps.find((s) => s.name === "transfer")?.detail as {
      moved: number;
      hold: { count: number };
    };
    expect(transferDetail.moved).toBe(HEAT.actors);
    expect(transferDetail.hold.count).toBe(HEAT.actors);
    const afterSplit = await t.db.vm.findMany({
      where: { state: "running" },
      include: { actors: true },
      orderBy: { name: "asc" },
    });
    expect(afterSplit.map((v) => [v.hostId, v.vcpus, v.memoryMiB, v.actors.length])).toEqual([
      ["pm-2", 2, 4096, 8],
      ["pm-3", 2, 4096, 8],
    ]);
    expect((await t.db.vm.findUnique({ where: { id: SOURCE_ID } }))?.state).toBe("deleted");
    await assertNoOrphans();
    // The application was still running when it was split.
    expect((await t.db.application.findUniqueOrThrow({ where: { id: "heat" } })).iteration).toBeLessThan(HEAT.maxIterations!);

    const merge = await submitMerge(
      t.db,
      { vmIds: afterSplit.map((v) => v.id), targetHostId: "pm-1", transfer: "barrier" },
      "test",
    );
    const mergeDone = await terminal(merge.id);
    expect(mergeDone.status).toBe("succeeded");
    // Barrier: the targets are provisioned before the barrier, so nothing is held while they boot.
    expect(mergeDone.steps.filter((s) => s.status === "succeeded").map((s) => s.name)).toEqual([
      "validate",
      "provision",
      "ready",
      "checkpoint",
      "transfer",
      "resume",
      "cleanup",
    ]);
    expect(mergeDone.transferMode).toBe("barrier");
    expect(mergeDone.holdMaxMs).not.toBeNull();
    const afterMerge = await t.db.vm.findMany({ where: { state: "running" }, include: { actors: true } });
    expect(afterMerge.map((v) => [v.hostId, v.vcpus, v.memoryMiB, v.actors.length])).toEqual([["pm-1", 4, 8192, 16]]);
    await assertNoOrphans();

    const uans = heatActorSpecs("heat", HEAT).map((s) => s.uan);
    await waitFor(
      "heat to finish",
      async () => {
        const app = await t.db.application.findUniqueOrThrow({ where: { id: "heat" } });
        return app.iteration >= HEAT.maxIterations! ? true : undefined;
      },
      { timeoutMs: 90_000 },
    );
    const grid = heatAssemble(HEAT, await worker.mediator.collectStates(uans));
    const reference = heatSequential(HEAT.width, HEAT.height, HEAT.maxIterations!);
    expect(Buffer.from(grid.buffer).equals(Buffer.from(reference.buffer))).toBe(true);
  });
});
