// The crawler against its generated site, on in-process theaters (real TCP between them and
// real HTTP to the site), with random splits, merges and moves while it crawls: every
// reachable URL must be fetched exactly once and nothing robots.txt forbids at all.
import { afterEach, describe, expect, it } from "vitest";
import fc from "fast-check";
import { Theater, builtinBehaviors } from "@malleo/actors";
import { Mediator } from "@malleo/mediator";
import { waitUntil } from "@malleo/testing";
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

const VMS = ["vm-0", "vm-1", "vm-2"];

async function startTheaters(mediator: Mediator, address: string): Promise<void> {
  for (const vmId of VMS) {
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
  }
}

/** Moves `uans` to `toVm` the way an operation does: ready on each source, migrate, resume. */
async function moveActors(mediator: Mediator, uans: string[], toVm: string): Promise<void> {
  const bySource = new Map<string, string[]>();
  for (const actor of mediator.listActors())
    if (uans.includes(actor.uan) && actor.vmId !== toVm)
      bySource.set(actor.vmId, [...(bySource.get(actor.vmId) ?? []), actor.uan]);
  await Promise.all(
    [...bySource].map(async ([fromVm, group]) => {
      expect((await mediator.awaitReady(fromVm, group, 20_000)).notReady).toEqual([]);
      await mediator.migrate(group, fromVm, toVm);
    }),
  );
  await mediator.resume(toVm);
}

type Step = { kind: "split"; from: number; to: [number, number] } | { kind: "merge"; to: number };

describe("web crawler", () => {
  it("fetches every reachable URL exactly once, with splits and merges during the crawl", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            fc.record({ kind: fc.constant("split" as const), from: fc.nat(2), to: fc.tuple(fc.nat(2), fc.nat(2)) }),
            fc.record({ kind: fc.constant("merge" as const), to: fc.nat(2) }),
          ),
          { minLength: 2, maxLength: 4 },
        ),
        async (steps: Step[]) => {
          const siteConfig = { pages: 500, slowEvery: 25, slowMs: 15 };
          const site = await startCrawlerSite(siteConfig);
          cleanups.push(() => site.close());
          const mediator = new Mediator({ migrationTimeoutMs: 20_000 });
          const { address } = await mediator.start();
          cleanups.push(() => mediator.stop());
          await startTheaters(mediator, address);
          const config: CrawlerApplicationConfig = { ...siteConfig, site: site.url, partitions: 6, politeness: 3 };
          const specs = crawlerApplication.actors("crawl", config);
          const uans = specs.map((spec) => spec.uan);
          await mediator.spawnActors("vm-0", specs.slice(0, 3));
          await mediator.spawnActors("vm-1", specs.slice(3));
          const reachable = crawlerReachablePaths(siteConfig);

          // Each step waits for the crawl to get further, so the moves land while it runs.
          for (const [index, step] of steps.entries()) {
            await waitUntil("the crawl to progress", async () => site.stats().total >= ((index + 1) * reachable.size) / 8);
            if (step.kind === "split") {
              const from = VMS[step.from]!;
              const hosted = mediator.listActors(from).map((actor) => actor.uan);
              const half = Math.ceil(hosted.length / 2);
              const [first, second] = step.to.map((target) => VMS[target]!);
              if (first !== from) await moveActors(mediator, hosted.slice(0, half), first!);
              if (second !== from) await moveActors(mediator, hosted.slice(half), second!);
            } else {
              await moveActors(mediator, uans, VMS[step.to]!);
            }
          }

          let previous: CrawlerTotals | null = null;
          await waitUntil("the crawl to finish", async () => {
            const current = crawlerTotals((await mediator.collectStates(uans)).values());
            const finished = crawlerFinished(previous, current);
            previous = current;
            return finished;
          });
          const { fetches } = site.stats();
          expect(Object.keys(fetches).filter((path) => path.startsWith("/private/"))).toEqual([]);
          expect(new Set(Object.keys(fetches))).toEqual(reachable);
          expect(Object.entries(fetches).filter(([, count]) => count !== 1)).toEqual([]);
          expect(previous!.fetched).toBe(reachable.size);
          expect(mediator.listActors()).toHaveLength(uans.length);
          while (cleanups.length > 0) await cleanups.pop()!();
        },
      ),
      { numRuns: 3 },
    );
  });
});
