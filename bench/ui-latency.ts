// ui-latency: from the database commit of an operation step's change to its appearance in the
// operation page of a real browser (Chromium), through NOTIFY → the web server's LISTEN fan-out
// (which reads the operation once) → SSE carrying the operation → the page's query cache →
// render. p50 and p99 over repeated step changes. Baseline in the same run: the bare round trip
// of one operations.get request from the same page (what a refetch would cost on its own).
// The web build in apps/web/.next is shared: build it first when sources changed, and run this
// under the e2e lock (`flock /tmp/malleo-e2e.lock npm run bench -- ui-latency`).
import { randomUUID } from "node:crypto";
import { startBenchWeb, type BenchWeb } from "./lib/web";
import { benchPgClient } from "./lib/database";
import type { BenchResult } from "./run";
import { percentile } from "./stats";

const RUNS = 100;

declare global {
  interface Window {
    __stepChanges: { status: string; at: number }[];
  }
}

export async function run(): Promise<BenchResult> {
  const port = Number(process.env.MALLEO_BENCH_WEB_PORT ?? 3143);
  const database = await benchPgClient("ui-latency", 54343);
  const { url, client } = database;
  let web: BenchWeb | undefined;
  try {
    const opId = randomUUID();
    // A finished operation: the worker (not running here) would never pick it up.
    await client.query(
      `INSERT INTO operations (id, kind, status, input, operator) VALUES ($1, 'split', 'failed', '{}', 'bench')`,
      [opId],
    );
    const step = await client.query<{ id: string }>(
      `INSERT INTO operation_steps (operation_id, name, status) VALUES ($1, 'validate', 'running') RETURNING id`,
      [opId],
    );
    const stepId = step.rows[0]!.id;

    web = await startBenchWeb(client, url, port);
    const { page, base } = web;
    await page.goto(`${base}/operations/${opId}`);
    await page.locator('[data-testid="live-status"][data-state="live"]').waitFor({ timeout: 60_000 });
    await page.locator('[data-testid="step-validate"][data-status="running"]').waitFor();
    // Record, in the page, when the step's status attribute changes (wall clock, same machine).
    // A string, not a function: tsx's name helpers do not exist in the page.
    await page.evaluate(`
      window.__stepChanges = [];
      new MutationObserver(() => {
        const el = document.querySelector('[data-testid="step-validate"]');
        window.__stepChanges.push({ status: el ? el.getAttribute("data-status") : "", at: performance.timeOrigin + performance.now() });
      }).observe(document.body, { subtree: true, attributes: true, attributeFilter: ["data-status"], childList: true });
    `);

    const latencies: number[] = [];
    const roundTrips: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const status = i % 2 === 0 ? "succeeded" : "running";
      await page.evaluate(() => (window.__stepChanges = []));
      await client.query("BEGIN");
      await client.query(
        `UPDATE operation_steps SET status = $1::"StepStatus", finished_at = CASE WHEN $1 = 'succeeded' THEN now() END WHERE id = $2`,
        [status, stepId],
      );
      await client.query(`SELECT pg_notify('malleo_events', $1)`, [JSON.stringify({ type: "operation", operationId: opId })]);
      await client.query("COMMIT");
      const committed = Date.now();
      const seenAt = await page.waitForFunction(
        (want) => window.__stepChanges.find((c) => c.status === want)?.at ?? false,
        status,
        { timeout: 30_000, polling: 5 },
      );
      latencies.push(((await seenAt.jsonValue()) as number) - committed);
      // Baseline: the bare request the page makes on each change, timed from the page.
      roundTrips.push(
        await page.evaluate(async (id) => {
          const input = encodeURIComponent(JSON.stringify({ 0: { json: { id } } }));
          const t0 = performance.now();
          await fetch(`/api/trpc/operations.get?batch=1&input=${input}`);
          return performance.now() - t0;
        }, opId),
      );
      await new Promise((r) => setTimeout(r, 100));
    }
    const p99 = percentile(latencies, 99);
    return {
      figures: {
        "commit → page p50 (ms)": percentile(latencies, 50),
        "commit → page p99 (ms)": p99,
        "baseline operations.get round trip p50 (ms)": percentile(roundTrips, 50),
        "baseline operations.get round trip p99 (ms)": percentile(roundTrips, 99),
        runs: RUNS,
      },
      checks: [{ what: "step change commit → visible in the page, p99 (ms)", value: p99, goal: 100, better: "lower" }],
    };
  } catch (e) {
    console.error("ui-latency failed:", e);
    throw e;
  } finally {
    await web?.stop();
    await database.stop();
  }
}
