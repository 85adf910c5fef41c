// The split/merge workflow on REAL guests: libvirt's qemu driver (KVM when a probe boot shows it
// works, QEMU software emulation otherwise), the project's guest image on the malleo0 bridge,
// theaters inside the guests — with heat diffusion running throughout. Same invariants as on
// simulated hosts: grid bit-identical to a sequential run, no actor lost, no domain left behind —
// also after a guest dies and its application is restored from a checkpoint onto a fresh guest.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { actorCreateMany, applicationUpsert, hostUpsert, vmCreate, vmTransition } from "@malleo/db";
import { createTestDatabase, type TestDatabase } from "@malleo/db/admin";
import { heatActorSpecs, heatAssemble, heatSequential, type HeatConfig } from "@malleo/examples";
import { submitMerge, submitSplit } from "@malleo/workflows";
import { loadWorkerEnv } from "../../apps/worker/src/env";
import { startWorker, type RunningWorker } from "../../apps/worker/src/worker";
import { GUEST_BRIDGE, GUEST_BRIDGE_CIDR, prepareGuestEnvironment, teardownGuestBridge } from "./environment";
import { waitFor, waitForOperationEnd } from "@malleo/testing";

// Long enough to still be running after the split, the merge and the death of a guest below.
const HEAT: HeatConfig = { width: 32, height: 16, actors: 4, maxIterations: 6000, iterationDelayMs: 20 };
const APP = "heat-guests";
const HOST = "pm-qemu";
const SOURCE_ID = "0b5e3c1a-2222-4a4a-8a8a-000000000001";

const environment = await prepareGuestEnvironment();
if (!environment.ok) console.log(`skipped: ${environment.skipped}`);

let t: TestDatabase;
let worker: RunningWorker;
let dataDir: string;

const terminal = (id: string) => waitForOperationEnd(t.db, id, { timeoutMs: 240_000, intervalMs: 200 });

/** Domains of this test's VMs on the qemu host are exactly its live VMs. */
async function assertNoOrphans(): Promise<void> {
  const all = await t.db.vm.findMany();
  const ours = new Set(all.map((v) => v.name));
  const live = all.filter((v) => v.state !== "deleted");
  const domains = (await worker.vms.listDomains()).filter((d) => d.hostId === HOST && ours.has(d.name));
  expect(domains.map((d) => d.name).sort()).toEqual(live.map((v) => v.name).sort());
  expect(domains.every((d) => d.active)).toBe(true);
  expect(live.every((v) => v.state === "running" && v.lockedBy === null)).toBe(true);
}

describe.skipIf(!environment.ok)("split and merge on real guests", () => {
  beforeAll(async () => {
    if (!environment.ok) return;
    t = await createTestDatabase();
    dataDir = mkdtempSync(path.join(os.tmpdir(), "malleo-guests-"));
    await hostUpsert(t.db, { id: HOST, uri: "qemu:///system", cpus: 8, memoryMiB: 4096, vmQuota: 4 });
    await applicationUpsert(t.db, { id: APP, kind: "heat", config: HEAT as never });
    await vmCreate(t.db, {
      id: SOURCE_ID,
      name: "heat-g1",
      hostId: HOST,
      applicationId: APP,
      vcpus: 2,
      memoryMiB: 512,
      state: "running",
    });
    await actorCreateMany(
      t.db,
      heatActorSpecs(APP, HEAT).map((s, ordinal) => ({
        uan: s.uan,
        applicationId: APP,
        vmId: SOURCE_ID,
        behavior: s.behavior,
        ordinal,
      })),
    );
    // The worker boots the source guest itself (restoring the live VM) before it starts the app.
    worker = await startWorker(
      loadWorkerEnv({
        DATABASE_URL: t.url,
        MALLEO_DATA_DIR: dataDir,
        MALLEO_EXECUTOR_ID: "guests-worker",
        MALLEO_POLL_MS: "200",
        MALLEO_MEDIATOR_HOST: GUEST_BRIDGE_CIDR.split("/")[0],
        MALLEO_BRIDGE: GUEST_BRIDGE,
        MALLEO_BRIDGE_CIDR: GUEST_BRIDGE_CIDR,
        MALLEO_GUEST_DIR: environment.image.dir,
        MALLEO_THEATER_TIMEOUT_MS: "120000",
        MALLEO_READY_TIMEOUT_MS: "120000",
        MALLEO_CHECKPOINT_MS: "0", // the test takes its checkpoint itself, before it kills a guest
        MALLEO_THEATER_LOST_GRACE_MS: "1000",
      }),
    );
  });

  afterAll(async () => {
    if (worker) {
      for (const vm of await t.db.vm.findMany({ where: { state: { not: "deleted" } } }))
        await worker.vms.destroyVm(vm.id).catch(() => undefined);
      await worker.stop();
    }
    await t?.drop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    teardownGuestBridge();
  });

  it("splits a guest into two guests, merges them back, survives the death of a guest, and the grid is bit-identical to a sequential run", async () => {
    await assertNoOrphans();
    const split = await submitSplit(t.db, { vmId: SOURCE_ID, count: 2, targetHostIds: [HOST, HOST] }, "test");
    const splitDone = await terminal(split.id);
    expect(splitDone.error).toBeNull();
    expect(splitDone.status).toBe("succeeded");
    const afterSplit = await t.db.vm.findMany({
      where: { state: "running" },
      include: { actors: true },
      orderBy: { name: "asc" },
    });
    expect(afterSplit.map((v) => [v.hostId, v.vcpus, v.memoryMiB, v.actors.length])).toEqual([
      [HOST, 1, 256, 2],
      [HOST, 1, 256, 2],
    ]);
    expect((await t.db.vm.findUnique({ where: { id: SOURCE_ID } }))?.state).toBe("deleted");
    await assertNoOrphans();

    const merge = await submitMerge(t.db, { vmIds: afterSplit.map((v) => v.id), targetHostId: HOST }, "test");
    const mergeDone = await terminal(merge.id);
    expect(mergeDone.error).toBeNull();
    expect(mergeDone.status).toBe("succeeded");
    // What each move cost the application on real guests (live transfer, the default): printed
    // for the notes, and measured at all (the guests' theaters answer the activity request).
    for (const [what, op] of [
      ["split", splitDone],
      ["merge", mergeDone],
    ] as const) {
      const provision = op.steps.find((s) => s.name === "provision" && s.status === "succeeded");
      const bootMs = provision?.finishedAt ? provision.finishedAt.getTime() - provision.startedAt.getTime() : null;
      console.log(
        `guests ${what} (${op.transferMode}): application pause ${op.pauseMs} ms, actor hold p50/p99/max ` +
          `${op.holdP50Ms}/${op.holdP99Ms}/${op.holdMaxMs} ms, guest boot (Provision) ${bootMs} ms`,
      );
      expect(op.holdMaxMs).not.toBeNull();
    }
    const afterMerge = await t.db.vm.findMany({ where: { state: "running" }, include: { actors: true } });
    expect(afterMerge.map((v) => [v.hostId, v.vcpus, v.memoryMiB, v.actors.length])).toEqual([[HOST, 2, 512, HEAT.actors]]);
    await assertNoOrphans();

    // The guest dies (powered off under libvirt, as a crash or a host-side kill would): its
    // theater is detected lost, the VM is booted afresh and heat restored from the checkpoint.
    const app = () => t.db.application.findUniqueOrThrow({ where: { id: APP } });
    const taken = await worker.checkpoints.take(APP, "manual");
    if (!("written" in taken)) throw new Error(`no checkpoint of ${APP}: ${taken.skipped}`);
    const written = await taken.written;
    expect(written.iteration).toBeLessThan(HEAT.maxIterations!); // still running: the kill below matters
    const merged = afterMerge[0]!;
    execFileSync("virsh", ["-c", "qemu:///system", "destroy", merged.name], { stdio: "pipe" });
    await waitFor("the guest's loss to be recorded", () =>
      t.db.auditEvent.findFirst({ where: { procedure: "theater.lost" } }).then((r) => r ?? undefined),
    );
    const recovered = await waitFor(
      "heat to be recovered on a fresh guest",
      () => t.db.auditEvent.findFirst({ where: { procedure: "application.recovered" } }).then((r) => r ?? undefined),
      { timeoutMs: 240_000, intervalMs: 500 },
    );
    expect(recovered.input).toMatchObject({ applicationId: APP, checkpoint: { sequence: written.sequence } });
    expect(await app()).toMatchObject({ status: "running", statusReason: null, restoreEpoch: 1 });
    expect((await t.db.vm.findUniqueOrThrow({ where: { id: merged.id } })).state).toBe("running");
    await assertNoOrphans();

    const uans = heatActorSpecs(APP, HEAT).map((s) => s.uan);
    await waitFor(
      "heat to finish",
      async () => {
        const app = await t.db.application.findUniqueOrThrow({ where: { id: APP } });
        return app.iteration >= HEAT.maxIterations! ? true : undefined;
      },
      { timeoutMs: 400_000, intervalMs: 200 },
    );
    const states = await worker.mediator.collectStates(uans);
    expect(states.size).toBe(HEAT.actors);
    const grid = heatAssemble(HEAT, states);
    const reference = heatSequential(HEAT.width, HEAT.height, HEAT.maxIterations!);
    expect(Buffer.from(grid.buffer).equals(Buffer.from(reference.buffer))).toBe(true);

    // Clean-up leaves nothing behind on the host.
    await worker.mediator.stopTheater(afterMerge[0]!.id, { force: true });
    await worker.vms.destroyVm(afterMerge[0]!.id);
    await vmTransition(t.db, afterMerge[0]!.id, "deleted");
    await assertNoOrphans();
  });
});
