// How an accepted operation reaches the worker: DBOS's queue, enqueued by the accepting process
// with DBOS's client; what was accepted but never enqueued is enqueued by the leader worker.
// Real parts: embedded Postgres, DBOS, libvirt's test driver, theater processes.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "@malleo/db/admin";
import { DBOS } from "@dbos-inc/dbos-sdk";
import { handOverOperation, submitSplit } from "@malleo/workflows";
import { seedApplicationVm, waitForOperationEnd } from "@malleo/testing";
import { startTestWorker, type TestWorker } from "@malleo/testing/worker";

let t: TestDatabase;
let worker: TestWorker | undefined;

beforeAll(async () => {
  t = await createTestDatabase();
});

afterAll(async () => {
  await worker?.stop();
  await t?.drop();
});

const vmOf = async (applicationId: string) => (await t.db.vm.findFirstOrThrow({ where: { applicationId, state: "running" } })).id;

describe("the operation queue", () => {
  it("an operation accepted before any worker ever ran stays queued, and the worker enqueues it when it starts", async () => {
    let queued = "";
    worker = await startTestWorker(t, {
      name: "handover",
      env: { MALLEO_RECONCILE_MS: "500" },
      seed: async () => {
        for (const [i, host] of ["pm-1", "pm-2"].entries())
          await seedApplicationVm(t.db, {
            applicationId: `heat-${i}`,
            kind: "heat",
            config: { width: 16, height: 8, actors: 2, maxIterations: null, iterationDelayMs: 5 },
            vm: { name: `heat-${i}-1`, hostId: host, vcpus: 4, memoryMiB: 2048 },
          });
        // No worker yet: DBOS's database does not exist, so the hand-over cannot happen.
        const op = await submitSplit(t.db, { vmId: await vmOf("heat-0"), count: 2, targetHostIds: ["pm-2", "pm-3"] }, "tester");
        expect((await t.db.operation.findUniqueOrThrow({ where: { id: op.id } })).status).toBe("queued");
        expect(await handOverOperation(t.db, op.id)).toBe(false);
        queued = op.id;
      },
    });
    expect((await waitForOperationEnd(t.db, queued, { timeoutMs: 90_000 })).status).toBe("succeeded");
  });

  it("with a worker running, the accepting process enqueues the workflow itself, with DBOS's client", async () => {
    const op = await submitSplit(t.db, { vmId: await vmOf("heat-1"), count: 2, targetHostIds: ["pm-1", "pm-3"] }, "tester");
    // At once: the worker's own sweep would look only after 5 s.
    expect((await DBOS.getWorkflowStatus(op.id))?.status).toMatch(/^(ENQUEUED|PENDING|SUCCESS)$/);
    expect(await handOverOperation(t.db, op.id)).toBe(true); // a second hand-over is a no-op
    expect((await waitForOperationEnd(t.db, op.id, { timeoutMs: 90_000 })).status).toBe("succeeded");
  });

  it("an operation whose hand-over failed (DBOS's database unreachable from the web) is enqueued by the worker's sweep", async () => {
    const vmId = await vmOf("heat-0");
    process.env.MALLEO_SYSTEM_DATABASE_URL = "postgres://malleo:malleo@127.0.0.1:1/nowhere"; // what the accepting process sees
    let op;
    try {
      op = await submitSplit(t.db, { vmId, count: 2, targetHostIds: ["pm-2", "pm-3"] }, "tester");
      expect(await handOverOperation(t.db, op.id)).toBe(false);
    } finally {
      delete process.env.MALLEO_SYSTEM_DATABASE_URL;
    }
    // Only the worker's sweep can have enqueued it now (after 5 s queued).
    expect((await waitForOperationEnd(t.db, op.id, { timeoutMs: 90_000 })).status).toBe("succeeded");
  });
});
