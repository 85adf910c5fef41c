// The crawler's guarantee through the death of a theater, with the real worker: a checkpoint is
// taken mid-crawl, the crawl goes on past it, one of the two theaters is killed (SIGKILL); the
// worker restarts it and restores the whole application from the checkpoint. The crawl then
// finishes with every reachable URL recorded exactly once (those fetched after the cut are
// fetched again, but the restored partitions count only what they fetched since it).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { actorListByApplication } from "@malleo/db";
import { createTestDatabase, type TestDatabase } from "@malleo/db/admin";
import {
  crawlerApplication,
  crawlerFinished,
  crawlerReachablePaths,
  crawlerTotals,
  type CrawlerApplicationConfig,
  type CrawlerTotals,
} from "@malleo/examples";
import { seedApplicationVms, waitFor } from "@malleo/testing";
import { startTestWorker, type TestWorker } from "@malleo/testing/worker";
import type { RunningWorker } from "./worker";

const SITE = { pages: 1500, slowEvery: 2, slowMs: 60 }; // about 8 s of crawling: time to checkpoint, go on and die
const CRAWL: CrawlerApplicationConfig = { ...SITE, partitions: 6, politeness: 1, sitePort: 0 };

let t: TestDatabase;
let running: TestWorker;
let worker: RunningWorker;
let vmIds: string[];

beforeAll(async () => {
  t = await createTestDatabase({ systemDatabase: true });
  running = await startTestWorker(t, {
    name: "crawler-recovery",
    seed: async () => {
      vmIds = await seedApplicationVms(t.db, {
        applicationId: "crawl",
        kind: "crawler",
        config: CRAWL,
        vms: [
          { name: "crawl-1", hostId: "pm-1", vcpus: 2, memoryMiB: 1024 },
          { name: "crawl-2", hostId: "pm-2", vcpus: 2, memoryMiB: 1024 },
        ],
      });
    },
    env: {
      MALLEO_CHECKPOINT_MS: "0", // the test takes its checkpoint itself
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

const uans = crawlerApplication.actors("crawl", CRAWL).map((s) => s.uan);
/** Pages fetched by all partitions (the application's recorded progress is its slowest partition's). */
const fetched = async () => crawlerTotals((await worker.mediator.collectStates(uans)).values()).fetched;

describe("the crawler through a theater's death", () => {
  it("is restored from its checkpoint and records every reachable URL exactly once", async () => {
    const reachable = crawlerReachablePaths(SITE);
    await waitFor("the crawl to progress", async () => ((await fetched()) >= reachable.size / 4 ? true : undefined), {
      timeoutMs: 60_000,
      ignoreErrors: true,
    });
    const outcome = await worker.checkpoints.take("crawl", "manual");
    if (!("written" in outcome)) throw new Error(`no checkpoint: ${outcome.skipped}`);
    const cut = await outcome.written;
    expect(cut.actors).toBe(CRAWL.partitions);
    const atCut = await fetched(); // a little past the cut already
    expect(atCut).toBeLessThan(reachable.size);
    // Past the checkpoint, then the second VM's theater dies with half the partitions.
    await waitFor(
      "the crawl to go on past the checkpoint",
      async () => ((await fetched()) >= atCut + reachable.size / 4 ? true : undefined),
      { timeoutMs: 60_000, ignoreErrors: true },
    );
    expect(await fetched()).toBeLessThan(reachable.size); // mid-crawl: the death loses work
    process.kill(worker.vms.theaterPid(vmIds[1]!)!, "SIGKILL");
    const recovered = await waitFor(
      "the crawler to be recovered",
      () =>
        t.db.auditEvent
          .findFirst({ where: { procedure: "application.recovered", input: { path: ["applicationId"], equals: "crawl" } } })
          .then((r) => r ?? undefined),
      { timeoutMs: 60_000 },
    );
    expect(recovered.input).toMatchObject({ restartedVms: ["crawl-2"], checkpoint: { sequence: cut.sequence } });

    let previous: CrawlerTotals | null = null;
    const totals = await waitFor(
      "the crawl to finish",
      async () => {
        const current = crawlerTotals((await worker.mediator.collectStates(uans)).values());
        const finished = crawlerFinished(previous, current);
        previous = current;
        return finished ? current : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 200, ignoreErrors: true },
    );
    // Exactly once: the partitions' recorded results count each reachable URL once.
    expect(totals.fetched).toBe(reachable.size);
    expect(totals.sent).toBe(totals.received);
    // Every partition lives where Postgres places it, once.
    const hosted = worker.mediator.listActors();
    expect(hosted).toHaveLength(uans.length);
    const placed = new Map(hosted.map((a) => [a.uan, a.vmId]));
    for (const a of await actorListByApplication(t.db, "crawl")) expect(placed.get(a.uan), a.uan).toBe(a.vmId);
    expect(await t.db.application.findUniqueOrThrow({ where: { id: "crawl" } })).toMatchObject({
      status: "running",
      restoreEpoch: 1,
    });
  });
});
