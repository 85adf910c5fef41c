// crawler: pages per second crawling a 10,000-page generated site served by its own process,
// with the crawler's partitions on two theater processes. Baseline, same run: a plain fetch
// loop in this process over the same list of URLs with the same total concurrency, against a
// second instance of the site. The crawl must fetch every reachable URL exactly once.
import { spawn, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import { loadavg } from "node:os";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Agent, request } from "node:http";
import {
  crawlerApplication,
  crawlerFinished,
  crawlerReachablePaths,
  crawlerTotals,
  fetchSiteStats,
  type CrawlerApplicationConfig,
  type CrawlerTotals,
} from "@malleo/examples";
import { BenchLab, waitUntil } from "./lib/local-theaters";
import type { BenchResult } from "./run";

const SITE = { pages: Number(process.env.CRAWLER_BENCH_PAGES ?? 10_000), slowEvery: 100, slowMs: 20 };
const PARTITIONS = 8;
const POLITENESS = 8;

const siteEntry = fileURLToPath(new URL("../packages/examples/src/crawler-site-main.ts", import.meta.url));
const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;

async function startSiteProcess(): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(
    process.execPath,
    ["--import", tsxLoader, siteEntry, String(SITE.pages), String(SITE.slowEvery), String(SITE.slowMs)],
    { stdio: ["pipe", "pipe", "inherit"] },
  );
  const line = await new Promise<string>((resolve) => child.stdout!.once("data", (data: Buffer) => resolve(data.toString())));
  return { url: (JSON.parse(line.trim()) as { url: string }).url, child };
}

function stopSite(child: ChildProcess): void {
  child.stdin?.end();
  child.kill();
}

/** The same URLs fetched by a bare loop with the crawl's total concurrency: what HTTP alone costs. */
async function baselinePagesPerSecond(paths: string[]): Promise<number> {
  const site = await startSiteProcess();
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const get = (url: string) =>
    new Promise<void>((resolve) => {
      const req = request(url, { agent }, (response) => {
        response.resume();
        response.on("end", () => resolve());
      });
      req.on("error", () => resolve());
      req.end();
    });
  try {
    const queue = [...paths];
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: PARTITIONS * POLITENESS }, async () => {
        for (let path = queue.shift(); path !== undefined; path = queue.shift()) await get(`${site.url}${path}`);
      }),
    );
    return paths.length / ((performance.now() - t0) / 1000);
  } finally {
    agent.destroy();
    stopSite(site.child);
  }
}

export async function run(): Promise<BenchResult> {
  const loadBefore = loadavg()[0]!;
  const reachable = crawlerReachablePaths(SITE);
  const baseline = await baselinePagesPerSecond([...reachable]);

  const site = await startSiteProcess();
  const lab = new BenchLab();
  try {
    await lab.start(["crawl-a", "crawl-b"]);
    const config: CrawlerApplicationConfig = { ...SITE, site: site.url, partitions: PARTITIONS, politeness: POLITENESS };
    const specs = crawlerApplication.actors("crawl-bench", config);
    const uans = specs.map((spec) => spec.uan);
    const t0 = performance.now();
    await Promise.all([
      lab.mediator.spawnActors("crawl-a", specs.slice(0, PARTITIONS / 2)),
      lab.mediator.spawnActors("crawl-b", specs.slice(PARTITIONS / 2)),
    ]);
    let previous: CrawlerTotals | null = null;
    let lastProgressAt = t0;
    let lastFetched = -1;
    await waitUntil(
      "the crawl to finish",
      async () => {
        const current = crawlerTotals((await lab.mediator.collectStates(uans)).values());
        if (current.fetched !== lastFetched) {
          lastFetched = current.fetched;
          lastProgressAt = performance.now();
        }
        const finished = crawlerFinished(previous, current);
        previous = current;
        return finished;
      },
      600_000,
      50,
    );
    // The crawl ended when the last fetch was counted, not when termination was confirmed.
    const seconds = (lastProgressAt - t0) / 1000;
    const stats = await fetchSiteStats(site.url);
    const fetchedPaths = Object.keys(stats.fetches);
    const exactlyOnce =
      fetchedPaths.length === reachable.size && fetchedPaths.every((path) => reachable.has(path) && stats.fetches[path] === 1);
    const pagesPerSecond = reachable.size / seconds;
    return {
      figures: {
        "machine load average (1 min) at start, 2 cores": loadBefore,
        site: `${SITE.pages} pages (+ redirects, 404s, robots.txt: ${reachable.size} URLs), 1 in ${SITE.slowEvery} slow by ${SITE.slowMs} ms`,
        crawl: `${PARTITIONS} partitions on 2 theaters, politeness ${POLITENESS} per partition and host`,
        "crawler pages/s": pagesPerSecond,
        "bare fetch loop pages/s, same concurrency (baseline)": baseline,
        "crawler / bare fetch loop": pagesPerSecond / baseline,
        "every reachable URL fetched exactly once": String(exactlyOnce),
        "most concurrent requests at the site": stats.maxConcurrent,
      },
      checks: [{ what: "crawler pages per second", value: pagesPerSecond, goal: 200, better: "higher" }],
    };
  } finally {
    await lab.stop();
    stopSite(site.child);
  }
}
