// The ready barrier times out because an actor cannot reach its safe point: the operation waits
// in a visible state naming the actor, and the operator extends the wait or aborts. The actor is
// a real crawler partition whose page fetch is in flight (its safe point is "no fetch in
// flight") against the crawler's real site, whose pages answer slowly.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "@malleo/db/admin";
import { createServer } from "node:net";
import { fetchSiteStats } from "@malleo/examples";
import { decideReadyTimeout, submitSplit } from "@malleo/workflows";
import { seedApplicationVm, waitFor } from "@malleo/testing";
import { startTestWorker, type TestWorker } from "@malleo/testing/worker";

// Every page answers after 3 s: a partition fetching one is not at its safe point until then.
// The site listens on a port of our choosing so the test can watch fetches start.
let CRAWLER = { pages: 200, slowEvery: 1, slowMs: 3_000, partitions: 2, politeness: 1, sitePort: 0 };

let t: TestDatabase;
let running: TestWorker;
let vmId: string;

const operation = (id: string) =>
  t.db.operation.findUniqueOrThrow({ where: { id }, include: { steps: { orderBy: { id: "asc" } } } });
const ended = (status: string) => ["succeeded", "failed", "rolled_back"].includes(status);

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * Submits the split the moment a page fetch has just begun, so that a partition is certainly
 * mid-fetch (about 3 s from its safe point) when the 300 ms barrier starts.
 */
async function splitWhileAFetchHasJustStarted() {
  const site = `http://127.0.0.1:${CRAWLER.sitePort}`;
  const before = (await fetchSiteStats(site)).total;
  await waitFor("a fetch to start", async () => ((await fetchSiteStats(site)).total > before ? true : undefined), {
    timeoutMs: 30_000,
  });
  return submitSplit(t.db, { vmId, count: 2, targetHostIds: ["pm-2", "pm-3"], transfer: "barrier" }, "tester");
}

beforeAll(async () => {
  CRAWLER = { ...CRAWLER, sitePort: await freePort() };
  t = await createTestDatabase({ systemDatabase: true });
  running = await startTestWorker(t, {
    name: "ready",
    seed: async () => {
      vmId = await seedApplicationVm(t.db, {
        applicationId: "crawl",
        kind: "crawler",
        config: CRAWLER,
        vm: { name: "crawl-1", hostId: "pm-1", vcpus: 2, memoryMiB: 4096 },
      });
    },
    env: {
      MALLEO_READY_TIMEOUT_MS: "300",
      // The operator's answer must arrive as a DBOS message: the fallback re-read of the recorded
      // decision comes only after 10 minutes, far past these tests' waits.
      MALLEO_READY_RECHECK_MS: "600000",
    },
  });
});

afterAll(async () => {
  await running?.stop();
  await t?.drop();
});

describe("ready barrier timeout", () => {
  it("waits visibly naming the actor that is not ready; the operator aborts and it rolls back", async () => {
    const submitted = await splitWhileAFetchHasJustStarted();
    const waiting = await waitFor("the barrier to time out", async () => {
      const op = await operation(submitted.id);
      return op.waitingReason ? op : undefined;
    });
    expect(waiting.status).toBe("running");
    expect(waiting.waitingReason).toMatch(
      /^ready barrier timed out after 300 ms; not ready: uan:\/\/crawl\/.+; extend the wait or abort$/,
    );
    await decideReadyTimeout(t.db, submitted.id, "abort", "alice");
    const op = await waitFor("the operation to end", async () => {
      const o = await operation(submitted.id);
      return ended(o.status) ? o : undefined;
    });
    expect(op.status).toBe("rolled_back");
    expect(op.error).toMatch(/aborted by the operator while \d+ actor\(s\) were not ready: uan:\/\/crawl\//);
    expect(op.waitingReason).toBeNull();
    expect(op.steps.map((s) => `${s.name}:${s.status}`)).toEqual([
      "validate:succeeded",
      "provision:succeeded",
      "ready:failed",
      "rollback:succeeded",
    ]);
    const actors = await t.db.actor.findMany({ where: { applicationId: "crawl" } });
    expect(actors.every((a) => a.vmId === vmId)).toBe(true);
    expect(await t.db.vm.count({ where: { createdBy: submitted.id, state: { not: "deleted" } } })).toBe(0);
  });

  it("the operator extends the wait until the actor gets ready, and the split completes", async () => {
    const submitted = await splitWhileAFetchHasJustStarted();
    let extensions = 0;
    const op = await waitFor(
      "the operation to end",
      async () => {
        const o = await operation(submitted.id);
        if (ended(o.status)) return o;
        if (o.waitingReason?.startsWith("ready barrier timed out") && o.readyDecision === null) {
          await decideReadyTimeout(t.db, submitted.id, "extend", "alice");
          extensions++;
        }
        return undefined;
      },
      { timeoutMs: 90_000 },
    );
    expect(op.status).toBe("succeeded");
    expect(extensions).toBeGreaterThan(0);
    const ready = op.steps.find((s) => s.name === "ready" && s.status === "succeeded");
    expect((ready?.detail as { extensions: number }).extensions).toBeGreaterThan(0);
    const vms = await t.db.vm.findMany({ where: { applicationId: "crawl", state: "running" }, include: { actors: true } });
    expect(vms.map((v) => v.actors.length)).toEqual([1, 1]);
  });

  it("extend or abort is refused when the operation is not waiting on a barrier", async () => {
    const last = await t.db.operation.findFirstOrThrow({ orderBy: { createdAt: "desc" } });
    await expect(decideReadyTimeout(t.db, last.id, "extend", "alice")).rejects.toThrow(/not waiting on a ready barrier/);
  });
});
