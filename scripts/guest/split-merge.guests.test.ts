// The split/merge workflow on REAL guests: libvirt's qemu driver (KVM when a probe boot shows it
// works, QEMU software emulation otherwise), the project's guest image on the malleo0 bridge,
// theaters inside the guests — with heat diffusion running throughout. Same invariants as on
// simulated hosts: grid bit-identical to a sequential run, no actor lost, no domain left behind —
// also after a guest dies and its application is restored from a checkpoint onto a fresh guest.
// Then an application registered as a bundle (PageRank under the kind "ranks") is deployed onto a
// guest and split onto two more: each guest's theater, booted from the unchanged image, fetches
// the bundle from the Mediator, checks its sha256 and runs its actors; ranks bit-identical.
import { execFileSync } from "node:child_process";
import { createHash, randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCaller, createEventHub, registerBundle } from "@malleo/api";
import { actorCreateMany, applicationUpsert, hostUpsert, vmCreate } from "@malleo/db";
import { createTestDatabase, type TestDatabase } from "@malleo/db/admin";
import { heatActorSpecs, heatAssemble, heatSequential, type HeatConfig } from "@malleo/examples";
import { isPartitionState, pagerankSequential, type PagerankConfig } from "@malleo/pagerank";
import { buildBundle } from "@malleo/sdk/bundle/build";
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
// Runs until the test ends: each partition's ranks are checked against the reference at the
// iteration it has reached, so nothing waits for an end whatever the guests' speed.
const RANKS: PagerankConfig = {
  nodes: 2000,
  partitions: 4,
  maxOutDegree: 6,
  seed: 5,
  damping: 0.85,
  maxIterations: null,
  iterationDelayMs: 20,
};
const RANKS_APP = "ranks-guests";

const environment = await prepareGuestEnvironment();
if (!environment.ok) console.log(`skipped: ${environment.skipped}`);

let t: TestDatabase;
let worker: RunningWorker;
let dataDir: string;

const iterationsOf = async (uans: string[]) =>
  [...(await worker.mediator.collectStates(uans)).values()].map((s) => (isPartitionState(s) ? s.iteration : -1));

const terminal = (id: string) => waitForOperationEnd(t.db, id, { timeoutMs: 240_000, intervalMs: 200 });

const operator = () =>
  createCaller({
    db: t.db,
    events: createEventHub("postgres://unused"),
    headers: new Headers(),
    user: { id: randomUUID(), name: "olga", role: "operator", via: "token" },
  });

const sha256Of = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex");

/**
 * The kernel the worker's guests boot: `vmlinuz` in the image directory (GuestTheaters,
 * apps/worker/src/guest-theaters.ts). The build record's `kernel` may name the decompressed
 * `vmlinux` beside it instead (PVH boot, what the guest-boot benchmark starts).
 */
function bootedKernel(): string {
  if (!environment.ok) throw new Error("no guest image");
  return path.join(environment.image.dir, "vmlinuz");
}

/** The files guests boot from (and the build record), each with its sha256: a bundle changes none. */
function imageFingerprint(): Record<string, string> {
  if (!environment.ok) throw new Error("no guest image");
  const { dir, kernel, initrd } = environment.image;
  const files = [...new Set([bootedKernel(), kernel, initrd, path.join(dir, "guest.json")])];
  return Object.fromEntries(files.map((f) => [f, sha256Of(f)]));
}

/** The theater the guest image carries, read out of its initrd. */
function imageTheater(): string {
  if (!environment.ok) throw new Error("no guest image");
  const cpio = execFileSync("lz4", ["-dc", environment.image.initrd], { maxBuffer: 1 << 30 });
  return execFileSync("cpio", ["-i", "--quiet", "--to-stdout", "malleo/theater.cjs"], {
    input: cpio,
    maxBuffer: 1 << 30,
  }).toString("utf8");
}

/** The "bundle loaded" lines a guest's theater wrote to its serial console. */
function bundleLoads(vmName: string): Record<string, unknown>[] {
  const file = path.join(dataDir, "logs", `guest-${vmName}.log`);
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split(/\r?\n/)
    .flatMap((line) => {
      const start = line.indexOf("{");
      if (start < 0) return [];
      try {
        const record = JSON.parse(line.slice(start)) as Record<string, unknown>;
        return record.component === "theater" && record.msg === "bundle loaded" ? [record] : [];
      } catch {
        return [];
      }
    });
}

/** The kernel and initrd a domain boots, from its libvirt XML. */
function domainBoot(name: string): { kernel?: string; initrd?: string } {
  const xml = execFileSync("virsh", ["-c", "qemu:///system", "dumpxml", name], { encoding: "utf8" });
  return { kernel: /<kernel>([^<]+)<\/kernel>/.exec(xml)?.[1], initrd: /<initrd>([^<]+)<\/initrd>/.exec(xml)?.[1] };
}

/**
 * Deletes an application through its delete operation: its VMs locked for the whole of it, so the
 * worker's recovery does not reboot a guest being destroyed (destroying them one by one from the
 * test, with the worker running, let recovery recreate one: an orphan domain).
 */
async function deleteApplication(applicationId: string): Promise<void> {
  const accepted = await operator().applications.delete({ applicationId });
  const done = await terminal(accepted.id);
  expect(done.error).toBeNull();
  expect(done.status).toBe("succeeded");
  expect(await t.db.vm.count({ where: { applicationId, state: { not: "deleted" } } })).toBe(0);
}

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
        // Importing a bundle in a guest under software emulation: seconds at low load, more than a
        // minute when the 2 cores are shared by several busy guests (seen at load 20).
        MALLEO_BUNDLE_LOAD_GRACE_MS: "240000",
        MALLEO_MEDIATOR_REQUEST_TIMEOUT_MS: "240000",
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

    // Clean-up is the product's own delete, which leaves nothing behind on the host.
    await deleteApplication(APP);
    await assertNoOrphans();
  });

  it("delivers a bundle application to guests booted from the unchanged image: deployed, split, its ranks bit-identical to the reference", async () => {
    if (!environment.ok) return;
    // The image the guests boot, before anything of the bundle exists: it carries no "ranks".
    const image = imageFingerprint();
    expect(imageTheater()).not.toContain("ranks.partition");
    const file = path.join(dataDir, "ranks.bundle.mjs");
    await buildBundle(path.resolve(import.meta.dirname, "../../applications/pagerank/test-fixtures/ranks-bundle.ts"), file);
    const registered = await registerBundle(t.db, readFileSync(file), "ada");
    expect(registered).toMatchObject({ kind: "ranks", version: "2.0.0" });

    const accepted = await operator().applications.deploy({
      applicationId: RANKS_APP,
      kind: "ranks",
      config: RANKS,
      vms: [{ hostId: HOST, vcpus: 2, memoryMiB: 512 }],
    });
    const deployed = await terminal(accepted.id);
    expect(deployed.error).toBeNull();
    expect(deployed.status).toBe("succeeded");
    const [source] = await t.db.vm.findMany({ where: { applicationId: RANKS_APP, state: "running" } });
    expect(source?.hostId).toBe(HOST);
    const actors = await t.db.actor.findMany({ where: { applicationId: RANKS_APP }, orderBy: { ordinal: "asc" } });
    expect(actors.map((a) => [a.behavior, a.vmId])).toEqual(Array(RANKS.partitions).fill(["ranks.partition", source!.id]));
    const uans = actors.map((a) => a.uan);
    // Progress comes from the guest's theater, the only place the bundle's behaviors run.
    await waitFor("progress recorded from the guest", async () =>
      (await t.db.application.findUniqueOrThrow({ where: { id: RANKS_APP } })).iteration > 5 ? true : undefined,
    );

    const split = await submitSplit(t.db, { vmId: source!.id, count: 2, targetHostIds: [HOST, HOST] }, "test");
    const splitDone = await terminal(split.id);
    expect(splitDone.error).toBeNull();
    expect(splitDone.status).toBe("succeeded");
    const targets = await t.db.vm.findMany({
      where: { applicationId: RANKS_APP, state: "running" },
      include: { actors: true },
      orderBy: { name: "asc" },
    });
    expect(targets.map((v) => [v.hostId, v.vcpus, v.memoryMiB, v.actors.length])).toEqual([
      [HOST, 1, 256, 2],
      [HOST, 1, 256, 2],
    ]);
    await assertNoOrphans();
    // Each new guest runs its actors: they go on past where they were after the split.
    for (const vm of targets) {
      const mine = vm.actors.map((a) => a.uan);
      const at = await iterationsOf(mine);
      await waitFor(`${vm.name}'s actors to progress`, async () =>
        (await iterationsOf(mine)).every((n, i) => n > at[i]!) ? true : undefined,
      );
    }
    // Every guest's theater fetched the bundle over its Mediator link and checked its sha256.
    for (const vm of [source!, ...targets]) {
      const loads = await waitFor(`${vm.name}'s console to show the bundle loaded`, async () => {
        const l = bundleLoads(vm.name);
        return l.length > 0 ? l : undefined;
      });
      expect(loads).toEqual([
        { ...loads[0], applicationId: RANKS_APP, kind: "ranks", version: "2.0.0", sha256: registered.sha256 },
      ]);
      if (vm !== source) expect(domainBoot(vm.name)).toEqual({ kernel: bootedKernel(), initrd: environment.image.initrd });
    }

    // Every partition's ranks, bit-identical to the sequential reference after as many iterations.
    const states = await worker.mediator.collectStates(uans);
    const partitions = [...states.values()].filter(isPartitionState);
    expect(partitions).toHaveLength(RANKS.partitions);
    const references = new Map<number, Float64Array>();
    for (const p of partitions) {
      expect(p.iteration).toBeGreaterThan(0);
      const reference = references.get(p.iteration) ?? pagerankSequential(RANKS, p.iteration);
      references.set(p.iteration, reference);
      const slice = reference.subarray(p.first, p.end);
      expect(
        Buffer.from(p.rank.buffer, p.rank.byteOffset, p.rank.byteLength).equals(
          Buffer.from(slice.buffer, slice.byteOffset, slice.byteLength),
        ),
      ).toBe(true);
    }
    // The image was not rebuilt for the bundle: the same bytes as before it was registered.
    expect(imageFingerprint()).toEqual(image);

    await deleteApplication(RANKS_APP);
    await assertNoOrphans();
  });
});
