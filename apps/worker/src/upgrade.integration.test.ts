// An upgrade of a running bundle application by a real worker with real theaters: tally 1.0.0
// (adds 1 per tick) deployed on two VMs, then upgraded to 2.0.0 (adds 10 per tick, state format 2
// with a migrateState recording the tick it was migrated at). Every theater is restarted and
// fetches the new bundle, every actor continues from the upgrade's checkpoint (not from 0), and
// the refusals change nothing. A version whose migrateState throws fails the restart and is
// rolled back: the old version restored from the same checkpoint; one cancelled before its
// restart leaves the old version running. Then a rolling upgrade to 2.1.0 (2.0.0's state format,
// 100 per tick): new VMs booted on 2.1.0 beside the old ones, every actor moved to them live, the
// old ones destroyed — each tick counted once, by one version, and none lost or redone; one
// cancelled as its transfer starts destroys its new VMs and leaves 2.0.0 running on.
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCaller, createEventHub, registerBundle } from "@malleo/api";
import { createTestDatabase, type TestDatabase } from "@malleo/db/admin";
import { buildBundle } from "@malleo/sdk/bundle/build";
import { cancelOperation } from "@malleo/workflows";
import { waitFor, waitForOperationEnd } from "@malleo/testing";
import { startTestWorker, type TestWorker } from "@malleo/testing/worker";
import type { TallyState } from "./test-fixtures/tally";
import type { RunningWorker } from "./worker";

let t: TestDatabase;
let running: TestWorker;
let worker: RunningWorker;
let dataDir: string;
/** The upgrade an operator cancels while its checkpoint step starts (a failure before the restart). */
let cancelAtCheckpoint: string | undefined;
/** The upgrade an operator tries to cancel once its restart has begun, and what that answered. */
let cancelAtRestart: string | undefined;
let lateCancel: unknown;
/** The rolling upgrade an operator cancels as its transfer starts (its new VMs up, no actor moved). */
let cancelAtTransfer: string | undefined;

const operator = () =>
  createCaller({
    db: t.db,
    events: createEventHub("postgres://unused"),
    headers: new Headers(),
    user: { id: randomUUID(), name: "olga", role: "operator", via: "token" },
  });

async function register(version: 1 | 2 | 3 | 4 | 5) {
  const file = path.join(dataDir, `tally-v${version}.bundle.mjs`);
  await buildBundle(fileURLToPath(new URL(`./test-fixtures/tally-v${version}.ts`, import.meta.url)), file);
  expect(await registerBundle(t.db, readFileSync(file), "ada")).toMatchObject({ kind: "tally", created: true });
}

beforeAll(async () => {
  t = await createTestDatabase({ systemDatabase: true });
  running = await startTestWorker(t, {
    name: "upgrade",
    seed: async (dir) => {
      dataDir = dir;
      await register(1);
    },
    env: {
      MALLEO_CHECKPOINT_MS: "0", // the upgrade takes its own
      MALLEO_THEATER_LOST_GRACE_MS: "500",
      MALLEO_RECONCILE_MS: "600000",
    },
    hooks: {
      wrapEffects: (effects) => ({
        ...effects,
        beforeStep: async (operationId, step) => {
          if (step === "checkpoint" && operationId === cancelAtCheckpoint) await cancelOperation(t.db, operationId, "olga");
          if (step === "transfer" && operationId === cancelAtTransfer) await cancelOperation(t.db, operationId, "olga");
          // Once the restart has begun, a cancel is refused (it could no longer be honoured).
          if (step === "restart" && operationId === cancelAtRestart)
            lateCancel = await cancelOperation(t.db, operationId, "olga").catch((e: Error) => e);
        },
      }),
    },
  });
  worker = running.worker;
}, 120_000);

afterAll(async () => {
  await running?.stop();
  await t?.drop();
});

const states = async (uans: string[]) => [...(await worker.mediator.collectStates(uans)).values()] as TallyState[];
const appRow = () => t.db.application.findUniqueOrThrow({ where: { id: "tl" } });

describe("upgrading a bundle application", () => {
  it("restarts it on the new version from a checkpoint; refusals change nothing", async () => {
    const deployed = await operator().applications.deploy({
      applicationId: "tl",
      kind: "tally",
      config: { actors: 4, intervalMs: 20 },
      vms: [
        { hostId: "pm-1", vcpus: 2, memoryMiB: 2048 },
        { hostId: "pm-2", vcpus: 2, memoryMiB: 2048 },
      ],
    });
    expect((await waitForOperationEnd(t.db, deployed.id, { timeoutMs: 90_000 })).status).toBe("succeeded");
    const uans = (await t.db.actor.findMany({ where: { applicationId: "tl" }, orderBy: { ordinal: "asc" } })).map((a) => a.uan);
    await waitFor("tally 1.0.0 to tick", async () => ((await states(uans)).every((s) => s.ticks > 10) ? true : undefined), {
      ignoreErrors: true,
    });
    // 1.0.0 adds 1 per tick.
    expect((await states(uans)).every((s) => s.total === s.ticks && s.upgradedAt === undefined)).toBe(true);
    await register(2);
    await register(3);
    // An installed application, and a stopped bundle one, as rows (nothing of theirs runs).
    await t.db.application.create({ data: { id: "inst", kind: "heat", config: {} } });
    await t.db.application.create({ data: { id: "held", kind: "tally", bundleVersion: "1.0.0", config: {}, status: "stopped" } });

    // Refusals: each says why and changes nothing.
    const vms = await t.db.vm.findMany({ where: { applicationId: "tl" }, orderBy: { name: "asc" } });
    const squatter = randomUUID();
    const refusals: [string, () => Promise<unknown>, RegExp][] = [
      [
        "unknown application",
        () => operator().applications.upgrade({ applicationId: "nope", version: "2.0.0" }),
        /nope does not exist/,
      ],
      [
        "installed kind",
        () => operator().applications.upgrade({ applicationId: "inst", version: "2.0.0" }),
        /not a registered bundle/,
      ],
      [
        "version not registered",
        () => operator().applications.upgrade({ applicationId: "tl", version: "9.9.9" }),
        /tally 9\.9\.9 is not registered/,
      ],
      [
        "same version",
        () => operator().applications.upgrade({ applicationId: "tl", version: "1.0.0" }),
        /already runs tally 1\.0\.0/,
      ],
      [
        "not running",
        () => operator().applications.upgrade({ applicationId: "held", version: "2.0.0" }),
        /held is stopped; it can be upgraded only when running/,
      ],
      [
        "format changed, no migrateState",
        () => operator().applications.upgrade({ applicationId: "tl", version: "3.0.0" }),
        /changed the state format \(1 → 3\) and has no migrateState/,
      ],
      [
        "another operation holds a VM",
        async () => {
          await t.db.vm.update({ where: { id: vms[0]!.id }, data: { lockedBy: squatter } });
          try {
            return await operator().applications.upgrade({ applicationId: "tl", version: "2.0.0" });
          } finally {
            await t.db.vm.update({ where: { id: vms[0]!.id }, data: { lockedBy: null } });
          }
        },
        new RegExp(squatter),
      ],
    ];
    const opsBefore = await t.db.operation.count();
    for (const [what, call, message] of refusals) await expect(call(), what).rejects.toThrow(message);
    expect(await t.db.operation.count()).toBe(opsBefore);
    expect((await appRow()).bundleVersion).toBe("1.0.0");

    // A failure before the restart (cancelled as the checkpoint starts): rolled back, nothing to undo; 1.0.0 runs on.
    const ticksThen = (await states(uans)).map((a) => a.ticks);
    const cancelled = await operator().applications.upgrade({ applicationId: "tl", version: "2.0.0" });
    cancelAtCheckpoint = cancelled.id;
    const cancelEnd = await waitForOperationEnd(t.db, cancelled.id, { timeoutMs: 60_000 });
    expect(cancelEnd.status).toBe("rolled_back");
    expect(cancelEnd.error).toMatch(/cancelled by olga/);
    const cancelSteps = await t.db.operationStep.findMany({ where: { operationId: cancelled.id }, orderBy: { id: "asc" } });
    expect(cancelSteps.map((s) => [s.name, s.status])).toEqual([
      ["validate", "succeeded"],
      ["checkpoint", "succeeded"],
      ["rollback", "succeeded"],
    ]);
    expect(await appRow()).toMatchObject({ bundleVersion: "1.0.0", status: "running" });
    await waitFor(
      "tally 1.0.0 to tick on",
      async () => ((await states(uans)).every((a, i) => a.ticks > ticksThen[i]! + 5) ? true : undefined),
      { ignoreErrors: true },
    );
    expect((await states(uans)).every((s) => s.total === s.ticks && s.upgradedAt === undefined)).toBe(true);

    const accepted = await operator().applications.upgrade({ applicationId: "tl", version: "2.0.0" });
    cancelAtRestart = accepted.id;
    expect(accepted).toMatchObject({ kind: "upgrade", applicationId: "tl", version: "2.0.0" });
    const done = await waitForOperationEnd(t.db, accepted.id, { timeoutMs: 120_000 });
    expect(String(lateCancel)).toMatch(/has begun restarting the application on the new version/);
    expect(done.error).toBeNull();
    expect(done.status).toBe("succeeded");
    const steps = await t.db.operationStep.findMany({ where: { operationId: accepted.id }, orderBy: { id: "asc" } });
    expect(steps.map((s) => [s.name, s.status])).toEqual([
      ["validate", "succeeded"],
      ["checkpoint", "succeeded"],
      ["restart", "succeeded"],
    ]);
    const checkpoint = steps[1]!.detail as { sequence: number; iteration: number };
    expect(checkpoint.iteration).toBeGreaterThan(10);
    expect(steps[2]!.detail).toMatchObject({
      version: "2.0.0",
      sequence: checkpoint.sequence,
      restartedVms: vms.map((v) => v.name),
    });
    expect(await appRow()).toMatchObject({ bundleVersion: "2.0.0", status: "running" });
    expect((await t.db.vm.findMany({ where: { applicationId: "tl", lockedBy: { not: null } } })).length).toBe(0);

    // Every actor continued from the checkpoint (migrated: upgradedAt is its tick there, not 0)
    // and adds 10 per tick since: the new version runs.
    const after = await waitFor(
      "tally 2.0.0 to tick",
      async () => {
        const s = await states(uans);
        return s.every((a) => a.upgradedAt !== undefined && a.ticks > a.upgradedAt + 5) ? s : undefined;
      },
      { timeoutMs: 60_000, ignoreErrors: true },
    );
    for (const a of after) {
      expect(a.upgradedAt).toBeGreaterThan(10);
      expect(a.total).toBe(a.upgradedAt! + 10 * (a.ticks - a.upgradedAt!));
    }

    // 3.0.0 cannot read 2.0.0's states either; back to 1.0.0 is an older format.
    await expect(operator().applications.upgrade({ applicationId: "tl", version: "3.0.0" })).rejects.toThrow(/\(2 → 3\)/);
    await expect(operator().applications.upgrade({ applicationId: "tl", version: "1.0.0" })).rejects.toThrow(/older than/);

    // A failure during the restart (4.0.0's migrateState throws, in its child process): the old
    // version recorded again and restored from the same checkpoint, unmigrated.
    await register(4);
    const before = new Map((await states(uans)).map((a, i) => [uans[i], a]));
    const failing = await operator().applications.upgrade({ applicationId: "tl", version: "4.0.0" });
    const rolledBack = await waitForOperationEnd(t.db, failing.id, { timeoutMs: 120_000 });
    expect(rolledBack.status).toBe("rolled_back");
    expect(rolledBack.error).toMatch(/tally cannot read state format 2/);
    const failedSteps = await t.db.operationStep.findMany({ where: { operationId: failing.id }, orderBy: { id: "asc" } });
    expect(failedSteps.map((s) => [s.name, s.status])).toEqual([
      ["validate", "succeeded"],
      ["checkpoint", "succeeded"],
      ["restart", "failed"],
      ["rollback", "succeeded"],
    ]);
    expect(await appRow()).toMatchObject({ bundleVersion: "2.0.0", status: "running" });
    const back = await waitFor(
      "tally 2.0.0 to tick again",
      async () => {
        const s = await states(uans);
        return s.every((a, i) => a.ticks > before.get(uans[i]!)!.ticks + 5) ? s : undefined;
      },
      { timeoutMs: 60_000, ignoreErrors: true },
    );
    back.forEach((a, i) => {
      expect(a.upgradedAt).toBe(before.get(uans[i]!)!.upgradedAt);
      expect(a.total).toBe(a.upgradedAt! + 10 * (a.ticks - a.upgradedAt!));
    });

    const audits = await t.db.auditEvent.findMany({ where: { procedure: "applications.upgrade" } });
    expect(audits.filter((a) => a.ok)).toHaveLength(3);
    expect(audits.filter((a) => !a.ok)).toHaveLength(refusals.length + 2);
  }, 300_000);

  it("rolls it onto new VMs running the new version, each actor moved live, nothing lost or redone; a cancel before the transfer changes nothing", async () => {
    // Where the first test left it: tally 2.0.0 on two VMs.
    expect(await appRow()).toMatchObject({ bundleVersion: "2.0.0", status: "running" });
    const uans = (await t.db.actor.findMany({ where: { applicationId: "tl" }, orderBy: { ordinal: "asc" } })).map((a) => a.uan);
    const oldVms = await t.db.vm.findMany({ where: { applicationId: "tl", state: "running" }, orderBy: { name: "asc" } });
    expect(oldVms).toHaveLength(2);
    await register(5);
    // 2.0.0 adds 10 per tick since its state was migrated at upgradedAt.
    const on20 = (a: TallyState) => a.total === a.upgradedAt! + 10 * (a.ticks - a.upgradedAt!);
    expect((await states(uans)).every(on20)).toBe(true);

    // Rolling across a state format change (to 4.0.0, format 3) is refused, saying why; nothing changes.
    const opsBefore = await t.db.operation.count();
    await expect(operator().applications.upgrade({ applicationId: "tl", version: "4.0.0", strategy: "rolling" })).rejects.toThrow(
      /a rolling upgrade runs both versions side by side, so it needs the same state format, and this one changes it \(2 → 3\)/,
    );
    expect(await t.db.operation.count()).toBe(opsBefore);

    // Cancelled as its transfer starts: its new VMs (booted on 2.1.0) destroyed, nothing moved, 2.0.0 runs on.
    const ticksThen = (await states(uans)).map((a) => a.ticks);
    const cancelled = await operator().applications.upgrade({ applicationId: "tl", version: "2.1.0" });
    expect(cancelled.strategy).toBe("rolling");
    cancelAtTransfer = cancelled.id;
    const cancelEnd = await waitForOperationEnd(t.db, cancelled.id, { timeoutMs: 120_000 });
    expect(cancelEnd.status).toBe("rolled_back");
    expect(cancelEnd.error).toMatch(/cancelled by olga/);
    const cancelSteps = await t.db.operationStep.findMany({ where: { operationId: cancelled.id }, orderBy: { id: "asc" } });
    expect(cancelSteps.map((s) => [s.name, s.status])).toEqual([
      ["validate", "succeeded"],
      ["provision", "succeeded"],
      ["checkpoint", "succeeded"],
      ["transfer", "failed"],
      ["rollback", "succeeded"],
    ]);
    expect(await appRow()).toMatchObject({ bundleVersion: "2.0.0", status: "running" });
    expect(
      (await t.db.vm.findMany({ where: { applicationId: "tl", state: { not: "deleted" } }, orderBy: { name: "asc" } })).map(
        (v) => v.id,
      ),
    ).toEqual(oldVms.map((v) => v.id));
    const still = await waitFor(
      "tally 2.0.0 to tick on",
      async () => {
        const s = await states(uans);
        return s.every((a, i) => a.ticks > ticksThen[i]! + 5) ? s : undefined;
      },
      { ignoreErrors: true },
    );
    expect(still.every(on20)).toBe(true);

    // The rolling upgrade: validate → provision → checkpoint → transfer → clean up, like a live split.
    const before = await states(uans);
    const accepted = await operator().applications.upgrade({ applicationId: "tl", version: "2.1.0" });
    expect(accepted).toMatchObject({ kind: "upgrade", version: "2.1.0", strategy: "rolling" });
    const done = await waitForOperationEnd(t.db, accepted.id, { timeoutMs: 120_000 });
    expect(done.error).toBeNull();
    expect(done.status).toBe("succeeded");
    const steps = await t.db.operationStep.findMany({ where: { operationId: accepted.id }, orderBy: { id: "asc" } });
    expect(steps.map((s) => [s.name, s.status])).toEqual([
      ["validate", "succeeded"],
      ["provision", "succeeded"],
      ["checkpoint", "succeeded"],
      ["transfer", "succeeded"],
      ["cleanup", "succeeded"],
    ]);
    expect(await appRow()).toMatchObject({ bundleVersion: "2.1.0", status: "running" });
    // Each old VM replaced by one of its size on its host; the old ones destroyed, no domain left over.
    const newVms = await t.db.vm.findMany({
      where: { applicationId: "tl", state: { not: "deleted" } },
      orderBy: { name: "asc" },
    });
    expect(newVms.map((v) => [v.hostId, v.vcpus, v.memoryMiB, v.state, v.lockedBy, v.createdBy])).toEqual(
      oldVms.map((v) => [v.hostId, v.vcpus, v.memoryMiB, "running", null, accepted.id]),
    );
    expect((await t.db.vm.findMany({ where: { id: { in: oldVms.map((v) => v.id) } } })).every((v) => v.state === "deleted")).toBe(
      true,
    );
    const domains = (await worker.vms.listDomains()).filter((d) => d.name.startsWith("tl-")).map((d) => d.name);
    expect(domains.sort()).toEqual(newVms.map((v) => v.name).sort());
    // Every actor hosted exactly once, on the new VM beside its old one.
    const hosted = worker.mediator.listActors().filter((a) => uans.includes(a.uan));
    expect(hosted.map((a) => a.uan).sort()).toEqual([...uans].sort());
    const actorRows = await t.db.actor.findMany({ where: { applicationId: "tl" } });
    for (const a of actorRows) {
      expect(hosted.find((h) => h.uan === a.uan)?.vmId).toBe(a.vmId);
      expect(newVms.some((v) => v.id === a.vmId)).toBe(true);
    }
    // The transfer's cost was recorded: each actor held only while it moved.
    const cost = await t.db.operation.findUniqueOrThrow({ where: { id: accepted.id } });
    expect(cost.transferMode).toBe("live");
    expect(cost.holdP99Ms).not.toBeNull();

    // Each actor's ticks went on from where they were (not back to a checkpoint), each counted once
    // by one version: 10 per tick on 2.0.0 up to its move, 100 per tick on 2.1.0 after it.
    const after = await waitFor(
      "tally 2.1.0 to tick",
      async () => {
        const s = await states(uans);
        return s.every((a) => a.total > a.upgradedAt! + 10 * (a.ticks - a.upgradedAt!)) ? s : undefined;
      },
      { timeoutMs: 60_000, ignoreErrors: true },
    );
    after.forEach((a, i) => {
      const b = before[i]!;
      expect(a.upgradedAt).toBe(b.upgradedAt); // never migrated: the same format
      const onNew = (a.total - a.upgradedAt! - 10 * (a.ticks - a.upgradedAt!)) / 90; // ticks run by 2.1.0
      expect(Number.isInteger(onNew)).toBe(true);
      expect(onNew).toBeGreaterThan(0);
      expect(a.ticks - onNew).toBeGreaterThanOrEqual(b.ticks); // 2.0.0 ran at least to where it was before
    });
  }, 300_000);
});
