// Workers as real processes (apps/worker/src/main.ts), for the chaos suite and the tests that
// kill them: start one with its environment, see how it ended, read its admin endpoint, and
// kill the theaters it left behind (detached processes recorded under <data>/theaters).
import { spawn, type ChildProcess } from "node:child_process";
import { openSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";

const root = path.resolve(import.meta.dirname, "..");

/** The worker's source under tsx, unless useWorkerBuild named a build of it (scripts/build-entry.ts). */
let workerArgs = ["--import", "tsx", path.join(root, "apps/worker/src/main.ts")];

/**
 * Later spawnWorkerProcess calls start `file`, the worker built once by buildWorker, instead of
 * its source under tsx (which compiles it again at every start: seconds each, ~150 times in chaos).
 */
export function useWorkerBuild(file: string): void {
  workerArgs = [file];
}

export function spawnWorkerProcess(env: NodeJS.ProcessEnv, logFile: string): ChildProcess {
  const fd = openSync(logFile, "a");
  return spawn(process.execPath, workerArgs, {
    cwd: root,
    env,
    stdio: ["ignore", fd, fd],
  });
}

/** Resolves with the signal that ended the process (e.g. "SIGKILL") or its exit code. */
export const processExited = (p: ChildProcess) =>
  new Promise<string>((r) =>
    p.exitCode !== null || p.signalCode !== null
      ? r(String(p.signalCode ?? p.exitCode))
      : p.once("exit", (c, s) => r(String(s ?? c))),
  );

export const isRunning = (p: ChildProcess | undefined): p is ChildProcess =>
  p !== undefined && p.exitCode === null && p.signalCode === null;

/** SIGTERM (a graceful stop), then SIGKILL if it has not ended within `graceMs`. */
export async function stopWorkerProcess(p: ChildProcess | undefined, graceMs = 20_000): Promise<void> {
  if (!isRunning(p)) return;
  p.kill("SIGTERM");
  const how = await Promise.race([processExited(p), new Promise<string>((r) => setTimeout(() => r("timeout"), graceMs))]);
  if (how === "timeout") p.kill("SIGKILL");
}

export async function getJson<T>(port: number, p: string): Promise<T> {
  const res = await fetch(`http://127.0.0.1:${port}${p}`);
  if (!res.ok) throw new Error(`${p}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** Kills every theater recorded under `<dataDir>/theaters` (a crashed worker's, not adopted). */
export function sweepTheaters(dataDir: string): void {
  let files: string[] = [];
  try {
    files = readdirSync(path.join(dataDir, "theaters"));
  } catch {
    return;
  }
  for (const f of files) {
    try {
      const { pid } = JSON.parse(readFileSync(path.join(dataDir, "theaters", f), "utf8")) as { pid: number };
      process.kill(pid, "SIGKILL");
    } catch {
      // gone already
    }
  }
}
