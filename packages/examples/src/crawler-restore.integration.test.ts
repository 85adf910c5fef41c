// The crawler's guarantee across a restore from a checkpoint (what the worker does after a
// theater dies, apps/worker/src/recovery.ts): every reachable URL is fetched at least once
// (those fetched after the checkpoint may be fetched again) and each result is recorded
// exactly once (the restored partitions count only what they fetched since the cut).
import { afterEach, describe, expect, it } from "vitest";
import { Theater, builtinBehaviors, type MigratedActor } from "@malleo/actors";
import { Mediator, messagesInFlight } from "@malleo/mediator";
import {
  crawlerApplication,
  crawlerFinished,
  crawlerReachablePaths,
  crawlerTotals,
  startCrawlerSite,
  type CrawlerApplicationConfig,
  type CrawlerTotals,
} from "./index";

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function waitFor(what: string, condition: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function startTheater(mediator: Mediator, address: string, vmId: string): Promise<Theater> {
  mediator.expectTheater(vmId, `secret-${vmId}`);
  const theater = new Theater({
    vmId,
    mediator: address,
    secret: `secret-${vmId}`,
    behaviors: { ...builtinBehaviors, ...crawlerApplication.behaviors },
    progressIntervalMs: 50,
    log: () => {},
  });
  await theater.start();
  cleanups.push(() => theater.stop());
  return theater;
}

/** A consistent cut, as the worker's Checkpointer takes it: hold all, copy once nothing is in flight, resume. */
async function checkpoint(mediator: Mediator, byVm: Map<string, string[]>): Promise<MigratedActor[]> {
  for (const [vmId, uans] of byVm) expect((await mediator.awaitReady(vmId, uans, 20_000)).notReady).toEqual([]);
  try {
    for (;;) {
      const snaps = await Promise.all([...byVm].map(([vmId, uans]) => mediator.snapshotActors(vmId, uans)));
      const actors = snaps.flatMap((s) => s.actors);
      expect(snaps.flatMap((s) => s.missing)).toEqual([]);
      if (messagesInFlight(actors) === 0) return actors;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  } finally {
    for (const vmId of byVm.keys()) await mediator.resume(vmId);
  }
}

describe("web crawler restored from a checkpoint", () => {
  it("after a theater crash: every reachable URL fetched at least once, each result recorded exactly once", async () => {
    const siteConfig = { pages: 600, slowEvery: 20, slowMs: 15 };
    const site = await startCrawlerSite(siteConfig);
    cleanups.push(() => site.close());
    const mediator = new Mediator({ migrationTimeoutMs: 20_000 });
    const { address } = await mediator.start();
    cleanups.push(() => mediator.stop());
    await startTheater(mediator, address, "vm-0");
    const doomed = await startTheater(mediator, address, "vm-1");
    await startTheater(mediator, address, "vm-2");
    const config: CrawlerApplicationConfig = { ...siteConfig, site: site.url, partitions: 6, politeness: 3 };
    const specs = crawlerApplication.actors("crawl", config);
    const uans = specs.map((spec) => spec.uan);
    await mediator.spawnActors("vm-0", specs.slice(0, 3));
    await mediator.spawnActors("vm-1", specs.slice(3));
    const reachable = crawlerReachablePaths(siteConfig);

    await waitFor("the crawl to progress", async () => site.stats().total >= reachable.size / 4);
    const cut = await checkpoint(
      mediator,
      new Map([
        ["vm-0", uans.slice(0, 3)],
        ["vm-1", uans.slice(3)],
      ]),
    );
    const atCut = crawlerTotals(cut.map((a) => a.state)).fetched;
    expect(atCut).toBeGreaterThan(0);
    // The crawl goes on past the checkpoint, then one theater dies with half the partitions.
    await waitFor("the crawl to progress past the checkpoint", async () => site.stats().total >= atCut + reachable.size / 4);
    doomed.simulateCrash();
    await mediator.stopTheater("vm-1", { force: true });

    // Restore, as recovery does: every partition back to the cut (a consistent cut is all or
    // nothing), the dead theater's on another VM, sequence numbers in a new range.
    await mediator.discardActors(uans);
    const seqBase = 2 ** 32;
    await mediator.restoreActors(
      "vm-0",
      cut.filter((a) => uans.slice(0, 3).includes(a.uan)),
      seqBase,
    );
    await mediator.restoreActors(
      "vm-2",
      cut.filter((a) => uans.slice(3).includes(a.uan)),
      seqBase,
    );

    let previous: CrawlerTotals | null = null;
    await waitFor("the crawl to finish", async () => {
      const current = crawlerTotals((await mediator.collectStates(uans)).values());
      const finished = crawlerFinished(previous, current);
      previous = current;
      return finished;
    });
    const { fetches } = site.stats();
    // At least once: every reachable URL, nothing forbidden; some twice (fetched after the cut, then again).
    expect(Object.keys(fetches).filter((path) => path.startsWith("/private/"))).toEqual([]);
    expect(new Set(Object.keys(fetches))).toEqual(reachable);
    expect(Object.values(fetches).every((count) => count >= 1)).toBe(true);
    expect(Object.values(fetches).some((count) => count > 1)).toBe(true);
    // Exactly once: the partitions' recorded results count each reachable URL once.
    expect(previous!.fetched).toBe(reachable.size);
    expect(mediator.listActors()).toHaveLength(uans.length);
  });
});
