// Every split and merge checkpoints the application just before its Transfer (a barrier one at
// the cut its Ready made), recorded as the operation's Checkpoint step; a checkpoint that cannot
// be written fails the operation before anything moved, and it rolls back. Real parts: embedded
// Postgres, libvirt's test driver, theater processes, DBOS; heat runs throughout and ends
// bit-identical to the sequential kernel.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "@malleo/db/admin";
import { heatActorSpecs, heatAssemble, heatSequential, isHeatSlabState, type HeatConfig } from "@malleo/examples";
import { submitMerge, submitSplit } from "@malleo/workflows";
import { seedApplicationVm, waitFor, waitForOperationEnd } from "@malleo/testing";
import { startTestWorker, type TestWorker } from "@malleo/testing/worker";
import { decodeCheckpoint } from "./checkpoints";
import type { RunningWorker } from "./worker";

const HEAT: HeatConfig = { width: 48, height: 32, actors: 8, maxIterations: 3000, iterationDelayMs: 5 };

let t: TestDatabase;
let running: TestWorker;
let worker: RunningWorker;
let sourceId: string;

const steps = (op: { steps: { name: string; status: string }[] }) => op.steps.map((s) => `${s.name}:${s.status}`);
const iteration = async () => (await t.db.application.findUniqueOrThrow({ where: { id: "heat" } })).iteration;
const heatVms = () =>
  t.db.vm.findMany({
    where: { applicationId: "heat", state: { not: "deleted" } },
    include: { actors: true },
    orderBy: { name: "asc" },
  });

/** The checkpoint row a step's detail names, and that its bytes are the application's actors at one cut. */
async function expectStored(detail: { sequence: number; sha256: string; bytes: number }, reason: string): Promise<void> {
  const row = await t.db.checkpoint.findUniqueOrThrow({
    where: { applicationId_sequence: { applicationId: "heat", sequence: detail.sequence } },
  });
  expect(row).toMatchObject({ reason, sha256: detail.sha256, bytes: detail.bytes, actors: HEAT.actors });
  const actors = decodeCheckpoint(row, new Uint8Array(row.data));
  expect(actors.map((a) => a.uan).sort()).toEqual(
    heatActorSpecs("heat", HEAT)
      .map((s) => s.uan)
      .sort(),
  );
}

beforeAll(async () => {
  t = await createTestDatabase({ systemDatabase: true });
  running = await startTestWorker(t, {
    name: "op-checkpoint",
    seed: async () => {
      sourceId = await seedApplicationVm(t.db, {
        applicationId: "heat",
        kind: "heat",
        config: HEAT,
        vm: { name: "heat-1", hostId: "pm-1", vcpus: 4, memoryMiB: 8192 },
      });
      // Checkpoints are on, but no periodic one comes between the operations' own.
      await t.db.application.update({ where: { id: "heat" }, data: { checkpointIntervalMs: 3_600_000 } });
    },
    env: {
      MALLEO_RECONCILE_MS: "600000",
    },
  });
  worker = running.worker;
});

afterAll(async () => {
  await running?.stop();
  await t?.drop();
});

describe("a checkpoint before every split and merge", () => {
  it("a checkpoint that cannot be written fails the split before anything moved: rolled back, heat runs on", async () => {
    await waitFor("heat to run", async () => ((await iteration()) > 20 ? true : undefined));
    // Durable storage refuses the write (a real failure of the checkpoints table, not a stub).
    await t.db.$executeRawUnsafe(
      `CREATE FUNCTION refuse_checkpoint() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'checkpoint storage full (test)'; END $$`,
    );
    await t.db.$executeRawUnsafe(
      `CREATE TRIGGER refuse_checkpoint BEFORE INSERT ON checkpoints FOR EACH ROW EXECUTE FUNCTION refuse_checkpoint()`,
    );
    try {
      const submitted = await submitSplit(t.db, { vmId: sourceId, count: 2, targetHostIds: ["pm-2", "pm-3"] }, "tester");
      const op = await waitForOperationEnd(t.db, submitted.id, { timeoutMs: 90_000 });
      expect(op.status).toBe("rolled_back");
      expect(op.error).toMatch(/checkpoint before the split not written: .*checkpoint storage full \(test\)/);
      expect(steps(op)).toEqual(["validate:succeeded", "provision:succeeded", "checkpoint:failed", "rollback:succeeded"]);
      expect(await t.db.vm.count({ where: { createdBy: submitted.id, state: { not: "deleted" } } })).toBe(0);
      expect((await heatVms()).map((v) => [v.name, v.state, v.lockedBy, v.actors.length])).toEqual([
        ["heat-1", "running", null, HEAT.actors],
      ]);
      expect(await t.db.checkpoint.count()).toBe(0);
    } finally {
      await t.db.$executeRawUnsafe(`DROP TRIGGER refuse_checkpoint ON checkpoints`);
      await t.db.$executeRawUnsafe(`DROP FUNCTION refuse_checkpoint()`);
    }
    // Nothing was left held.
    const before = await iteration();
    await waitFor("heat to progress after the rollback", async () => ((await iteration()) > before ? true : undefined));
  });

  it("a live split checkpoints the whole application after Provision, just before Transfer", async () => {
    const submitted = await submitSplit(t.db, { vmId: sourceId, count: 2, targetHostIds: ["pm-2", "pm-3"] }, "tester");
    const op = await waitForOperationEnd(t.db, submitted.id, { timeoutMs: 90_000 });
    expect(op.status).toBe("succeeded");
    expect(steps(op)).toEqual([
      "validate:succeeded",
      "provision:succeeded",
      "checkpoint:succeeded",
      "transfer:succeeded",
      "cleanup:succeeded",
    ]);
    const step = op.steps.find((s) => s.name === "checkpoint")!;
    const transfer = op.steps.find((s) => s.name === "transfer")!;
    const provision = op.steps.find((s) => s.name === "provision")!;
    expect(step.detail).toMatchObject({
      sequence: 1,
      actors: HEAT.actors,
      cut: "own",
      sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    // Written before Transfer began, after the targets were up.
    expect(step.finishedAt!.getTime()).toBeLessThanOrEqual(transfer.startedAt.getTime());
    expect(step.startedAt.getTime()).toBeGreaterThanOrEqual(provision.finishedAt!.getTime());
    const detail = step.detail as { sequence: number; sha256: string; bytes: number; iteration: number };
    expect(detail.iteration).toBeGreaterThan(0);
    await expectStored(detail, "before split");
  });

  it("a barrier merge checkpoints at the cut its Ready made", async () => {
    const vms = await heatVms();
    expect(vms).toHaveLength(2);
    const submitted = await submitMerge(
      t.db,
      { vmIds: vms.map((v) => v.id), targetHostId: "pm-1", transfer: "barrier" },
      "tester",
    );
    const op = await waitForOperationEnd(t.db, submitted.id, { timeoutMs: 90_000 });
    expect(op.status).toBe("succeeded");
    expect(steps(op)).toEqual([
      "validate:succeeded",
      "provision:succeeded",
      "ready:succeeded",
      "checkpoint:succeeded",
      "transfer:succeeded",
      "resume:succeeded",
      "cleanup:succeeded",
    ]);
    const step = op.steps.find((s) => s.name === "checkpoint")!;
    expect(step.detail).toMatchObject({ sequence: 2, actors: HEAT.actors, cut: "barrier" });
    const detail = step.detail as { sequence: number; sha256: string; bytes: number; iteration: number };
    await expectStored(detail, "before merge");
    // Later than the split's: heat ran on between them.
    expect(detail.iteration).toBeGreaterThan((await t.db.checkpoint.findFirstOrThrow({ where: { sequence: 1 } })).iteration);
  });

  it("after the operations, heat's grid is bit-identical to the sequential kernel's", async () => {
    const uans = heatActorSpecs("heat", HEAT).map((s) => s.uan);
    const states = await waitFor(
      `heat to reach iteration ${HEAT.maxIterations}`,
      async () => {
        const states = await worker.mediator.collectStates(uans);
        return [...states.values()].every((s) => isHeatSlabState(s) && s.iteration >= HEAT.maxIterations!) ? states : undefined;
      },
      { timeoutMs: 180_000, intervalMs: 200, ignoreErrors: true },
    );
    const grid = heatAssemble(HEAT, states);
    const expected = heatSequential(HEAT.width, HEAT.height, HEAT.maxIterations!);
    expect(Buffer.from(grid.buffer).equals(Buffer.from(expected.buffer))).toBe(true);
  });
});
