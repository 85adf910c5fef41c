// ui-latency: from the database commit of an operation step's change to its appearance in the
// operation page of a real browser (Chromium), through NOTIFY → the web server's LISTEN fan-out
// (which reads the operation once) → SSE carrying the operation → the page's query cache →
// render. p50 and p99 over repeated step changes. Baseline in the same run: the bare round trip
// of one operations.get request from the same page (what a refetch would cost on its own).
// The web build in apps/web/.next is shared: build it first when sources changed, and run this
// under the e2e lock (`flock /tmp/malleo-e2e.lock npm run bench -- ui-latency`).
import { spawn, spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync, rmSync } from "node:fs";
import path from "node:path";
import { hashPassword } from "@malleo/api";
import { databaseUrl, ensureDatabase, migrateDatabase, startEmbeddedPostgres } from "@malleo/db/admin";
import { chromium } from "@playwright/test";
import pg from "pg";
import type { BenchResult } from "./run";
import { percentile } from "./stats";

const root = path.resolve(import.meta.dirname, "..");
const RUNS = 100;
const PASSWORD = "bench-password-1";

declare global {
  interface Window {
    __stepChanges: { status: string; at: number }[];
  }
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what} not ready within ${timeoutMs / 1000} s`);
}

export async function run(): Promise<BenchResult> {
  const dir = path.resolve(root, ".data/bench-ui-latency");
  rmSync(dir, { recursive: true, force: true });
  const port = Number(process.env.MALLEO_BENCH_WEB_PORT ?? 3143);
  const server = await startEmbeddedPostgres({ dataDir: dir, port: Number(process.env.MALLEO_BENCH_PG_PORT ?? 54343) });
  const url = databaseUrl(server.url, "bench");
  let web: ReturnType<typeof spawn> | undefined;
  let browser: Awaited<ReturnType<typeof chromium.launch>> | undefined;
  try {
    await ensureDatabase(server.url, "bench");
    await migrateDatabase(url);
    const client = new pg.Client({ connectionString: url });
    client.on("error", () => undefined); // the server stops in `finally`, possibly before the client ends
    await client.connect();
    const opId = randomUUID();
    await client.query(`INSERT INTO users (id, name, role, password_hash) VALUES ($1, 'bench', 'viewer', $2)`, [
      randomUUID(),
      await hashPassword(PASSWORD),
    ]);
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

    if (!existsSync(path.join(root, "apps/web/.next/BUILD_ID"))) {
      const b = spawnSync(process.execPath, [path.join(root, "node_modules/next/dist/bin/next"), "build"], {
        cwd: path.join(root, "apps/web"),
        stdio: "inherit",
        env: { ...process.env, DATABASE_URL: "postgres://build/placeholder", NEXT_TELEMETRY_DISABLED: "1" },
      });
      if (b.status !== 0) throw new Error("next build failed");
    }
    web = spawn(
      process.execPath,
      [path.join(root, "node_modules/next/dist/bin/next"), "start", "-p", String(port), "-H", "127.0.0.1"],
      {
        cwd: path.join(root, "apps/web"),
        stdio: "ignore",
        env: { ...process.env, DATABASE_URL: url, NODE_ENV: "production", NEXT_TELEMETRY_DISABLED: "1" },
      },
    );
    const base = `http://127.0.0.1:${port}`;
    await waitFor("the web UI", async () => (await fetch(`${base}/sign-in`)).ok, 120_000);

    browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox", "--disable-gpu"] });
    const page = await browser.newPage();
    await page.goto(`${base}/sign-in`);
    await page.getByTestId("sign-in-name").fill("bench");
    await page.getByTestId("sign-in-password").fill(PASSWORD);
    await page.getByTestId("sign-in-submit").click();
    await page.getByTestId("user-name").waitFor({ timeout: 60_000 });
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
    await client.end();
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
    await browser?.close().catch(() => undefined);
    if (web && web.exitCode === null) {
      web.kill("SIGTERM");
      await new Promise((r) => web!.once("exit", r));
    }
    await server.stop();
  }
}
