// ui-topology: the Topology page at 100 hosts / 1,000 VMs / 100,000 actors in a real browser
// (Chromium, production build): from navigation to the first VM card on screen, and from a jump
// to the bottom of the page to the last VM card on screen (the list is windowed: only rows in
// view exist), p50 and p95; and how many VM cards the DOM holds. Baseline in the same run: the
// bare topology.get round trip from the same page (the data alone, without rendering).
// Shares the web build with the e2e suite: `flock /tmp/malleo-e2e.lock npm run bench -- ui-topology`.
import { seedTopology } from "./lib/topology-seed";
import { startBenchWeb, type BenchWeb } from "./lib/web";
import { benchPgClient } from "./lib/database";
import type { BenchResult } from "./run";
import { percentile } from "./stats";

const HOSTS = 100;
const VMS_PER_HOST = 10;
const ACTORS_PER_VM = 100;
const RUNS = 20;

export async function run(): Promise<BenchResult> {
  const port = Number(process.env.MALLEO_BENCH_WEB_PORT ?? 3144);
  const database = await benchPgClient("ui-topology", 54344);
  const { url, client } = database;
  let web: BenchWeb | undefined;
  try {
    await seedTopology(client, { hosts: HOSTS, vmsPerHost: VMS_PER_HOST, actorsPerVm: ACTORS_PER_VM });
    web = await startBenchWeb(client, url, port);
    const { page, base } = web;
    const first = page.getByTestId("vm-vm-0001");
    const last = page.getByTestId(`vm-vm-${String(HOSTS * VMS_PER_HOST).padStart(4, "0")}`);

    const loads: number[] = [];
    const scrolls: number[] = [];
    const roundTrips: number[] = [];
    const cards: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const t0 = Date.now();
      await page.goto(`${base}/`);
      await first.waitFor({ state: "visible", timeout: 60_000 });
      loads.push(Date.now() - t0);
      cards.push(await page.locator("article.vm").count());
      // The bottom: rows are measured as they render, so the page grows; jump until the last VM is in.
      const t1 = Date.now();
      while ((await last.count()) === 0) {
        await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
        await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => r(null))));
        if (Date.now() - t1 > 30_000) throw new Error("the last VM never rendered");
      }
      await last.waitFor({ state: "visible" });
      scrolls.push(Date.now() - t1);
      cards.push(await page.locator("article.vm").count());
      roundTrips.push(
        await page.evaluate(async () => {
          const t = performance.now();
          await (await fetch("/api/trpc/topology.get")).text();
          return performance.now() - t;
        }),
      );
    }
    return {
      figures: {
        "navigation → first VM card p50 (ms)": percentile(loads, 50),
        "navigation → first VM card p95 (ms)": percentile(loads, 95),
        "jump to bottom → last VM card p50 (ms)": percentile(scrolls, 50),
        "jump to bottom → last VM card p95 (ms)": percentile(scrolls, 95),
        "VM cards in the DOM, most seen": Math.max(...cards),
        "baseline topology.get round trip p50 (ms)": percentile(roundTrips, 50),
        "baseline topology.get round trip p95 (ms)": percentile(roundTrips, 95),
        scale: `${HOSTS} hosts, ${HOSTS * VMS_PER_HOST} VMs, ${HOSTS * VMS_PER_HOST * ACTORS_PER_VM} actors; ${RUNS} loads`,
      },
      // The issue asks that the page "stays fast" at this size without a figure; none is enforced here.
      checks: [],
    };
  } finally {
    await web?.stop();
    await database.stop();
  }
}
