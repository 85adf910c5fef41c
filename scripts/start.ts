// `npm start`: embedded Postgres (unless DATABASE_URL is set), migrations, the demo seed, then
// the worker and the web UI in production mode, each restarted if it dies. Ctrl-C stops everything it started.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import path from "node:path";
import { buildIsCurrent } from "@malleo/actors";
import { createDb } from "@malleo/db";
import {
  ensureDatabase,
  databaseUrl,
  migrateDatabase,
  startEmbeddedPostgres,
  type EmbeddedPostgresHandle,
} from "@malleo/db/admin";
import { buildTheater, buildWorker } from "./build-entry";
import { seedDemo } from "./seed";
import { ensureFirstAdmin } from "./first-admin";
import { Supervisor } from "./supervisor";

const root = path.resolve(import.meta.dirname, "..");
const dataDir = path.resolve(root, process.env.MALLEO_DATA_DIR ?? ".data/dev");
const port = Number(process.env.PORT ?? 3000);
const pgPort = Number(process.env.MALLEO_PG_PORT ?? 54320);
const say = (m: string) => process.stdout.write(`[malleo] ${m}\n`);

// Each child is restarted on its own when it dies unexpectedly (the worker resumes its operations
// and adopts its theaters; the web server is stateless), unless it keeps crashing.
const supervisor = new Supervisor({
  logDir: path.join(dataDir, "logs"),
  say,
  onFatal: () => void stopAll(1),
});
let pgHandle: EmbeddedPostgresHandle | undefined;
let stopping = false;

async function stopAll(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    say("stopping…");
    await supervisor.stopAll();
    sweepTheaters();
    await pgHandle?.stop().catch(() => undefined);
    say("stopped");
  }
  process.exit(code);
}
process.on("SIGINT", () => void stopAll(0));
process.on("SIGTERM", () => void stopAll(0));

/**
 * Theaters of simulated VMs run in their own process groups so that they survive a worker crash;
 * the worker kills them when it stops, and this sweep catches any it could not.
 */
function sweepTheaters(): void {
  const dir = path.join(dataDir, "theaters");
  if (!existsSync(dir)) return;
  for (const f of readdirSync(dir)) {
    try {
      process.kill((JSON.parse(readFileSync(path.join(dir, f), "utf8")) as { pid: number }).pid, "SIGKILL");
    } catch {
      // already gone
    }
    rmSync(path.join(dir, f), { force: true });
  }
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === "node_modules" || entry.name === ".next" || entry.name === "generated") continue;
    const p = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** Builds the web UI when it has never been built or its sources changed since. */
function buildWebIfNeeded(): void {
  const buildId = path.join(root, "apps/web/.next/BUILD_ID");
  const sources = ["apps/web", "packages/api", "packages/core", "packages/db/src", "packages/workflows"].map((d) =>
    path.join(root, d),
  );
  const built = existsSync(buildId) ? statSync(buildId).mtimeMs : 0;
  if (built > Math.max(...sources.map(newestMtime))) return;
  say("building the web UI (next build)…");
  const r = spawnSync(process.execPath, [path.join(root, "node_modules/next/dist/bin/next"), "build"], {
    cwd: path.join(root, "apps/web"),
    stdio: ["ignore", "inherit", "inherit"],
    env: {
      ...process.env,
      NEXT_TELEMETRY_DISABLED: "1",
      DATABASE_URL: process.env.DATABASE_URL ?? "postgres://build/placeholder",
    },
  });
  if (r.status !== 0) throw new Error("next build failed");
}

/**
 * The worker and the theater built from the checkout as it is now (scripts/build-entry.ts), so that
 * neither the worker nor each VM's theater is compiled by tsx at its start; spawnLocalTheater finds
 * the theater's build in MALLEO_THEATER_BUILD. Returns the worker's build, or undefined when the
 * build failed: then both run from source under tsx, as before.
 */
async function buildEntries(): Promise<string | undefined> {
  const dir = path.join(dataDir, "build");
  try {
    const worker = await buildWorker(path.join(dir, "worker.mjs"));
    await buildTheater(path.join(dir, "theater.mjs"));
    return worker;
  } catch (e) {
    say(`could not build the worker and the theater (${(e as Error).message}); running their sources under tsx`);
    return undefined;
  }
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (stopping) return;
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what} did not come up within ${timeoutMs / 1000} s`);
}

async function main(): Promise<void> {
  if (process.env.MALLEO_FRESH === "1") rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(dataDir, { recursive: true });

  let url = process.env.DATABASE_URL;
  if (!url) {
    pgHandle = await startEmbeddedPostgres({ dataDir: path.join(dataDir, "postgres"), port: pgPort });
    await ensureDatabase(pgHandle.url, "malleo");
    url = databaseUrl(pgHandle.url, "malleo");
    say(`embedded Postgres on port ${pgPort} (data in ${path.relative(root, dataDir)}/postgres)`);
  }
  await migrateDatabase(url, (m) => say(m));
  const db = createDb(url);
  if (await seedDemo(db, dataDir)) say("seeded the demo: hosts pm-1…pm-3, VM heat-1 running heat diffusion with 64 actors");
  await ensureFirstAdmin(db, process.env.MALLEO_ADMIN_PASSWORD, say);
  await db.$disconnect();

  buildWebIfNeeded();
  const workerBuild = await buildEntries();
  const workerSource = ["--import", "tsx", path.join(root, "apps/worker/src/main.ts")];

  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: url,
    MALLEO_DATA_DIR: dataDir,
    // A fixed Mediator port lets theaters find a restarted worker again (see docs/architecture.md).
    MALLEO_MEDIATOR_PORT: process.env.MALLEO_MEDIATOR_PORT ?? String(port + 4400),
    NODE_ENV: "production",
    NEXT_TELEMETRY_DISABLED: "1",
  };
  rmSync(path.join(dataDir, "logs/worker.log"), { force: true });
  supervisor.launch({
    name: "worker",
    // At each (re)start: the build while no source of it changed since, else the source under tsx.
    args: () => (workerBuild && buildIsCurrent(workerBuild) ? [workerBuild] : workerSource),
    env,
    cwd: root,
  });
  let workerReady = false;
  await waitFor(
    "the worker",
    async () => {
      workerReady ||= readFileSync(path.join(dataDir, "logs/worker.log"), "utf8").includes('"worker ready"');
      return workerReady;
    },
    120_000,
  );
  supervisor.launch({
    name: "web",
    // Next.js's handler behind our own server, which gives the API each request's socket address
    // (the sign-in throttle counts per client; see apps/web/server.mjs).
    args: [path.join(root, "apps/web/server.mjs"), "-p", String(port), "-H", "127.0.0.1"],
    env,
    cwd: path.join(root, "apps/web"),
  });
  await waitFor("the web UI", async () => (await fetch(`http://127.0.0.1:${port}/`)).ok, 120_000);
  say(`ready: open http://127.0.0.1:${port}/  (logs in ${path.relative(root, dataDir)}/logs; Ctrl-C stops everything)`);
}

main().catch((e: Error) => {
  say(`start failed: ${e.message}`);
  void stopAll(1);
});
