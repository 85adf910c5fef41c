import { spawn } from "node:child_process";
import { closeSync, openSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";

/** Exit codes of the theater process, so a parent can tell why it ended. */
export const THEATER_EXIT_CODES = {
  stopped: 0,
  failed: 1,
  badArguments: 2,
  refused: 3,
  /** The `crash-before-migration-ack` fault fired (tests only). */
  faultInjected: 70,
} as const;

export type TheaterFault = "crash-before-migration-ack";

export interface LocalTheaterOptions {
  vmId: string;
  /** Mediator address(es), host:port: the theater fails over between them in order. */
  mediator: string | readonly string[];
  secret: string;
  /** Where the theater's stdout/stderr (JSON log lines) go; default: inherited from this process. */
  logFile?: string;
  /** Test hook: make the theater die at a precise point. */
  fault?: TheaterFault;
  /**
   * Detached: the theater gets its own process group and no IPC link, so it survives its
   * parent like a VM survives a crash of its control plane; the parent records its pid and a
   * later worker adopts it (it re-registers with the Mediator at the same address).
   * Default: linked by IPC, exits when the parent goes.
   */
  detached?: boolean;
  /** Application modules (absolute paths or package names) to host besides the installed ones. */
  applicationModules?: readonly string[];
}

export interface LocalTheaterProcess {
  pid: number;
  /** Kills the process outright (SIGKILL by default): the equivalent of pulling the VM's plug. */
  kill(signal?: NodeJS.Signals): void;
  /** Resolves with the exit code, or null when it ended by a signal or could not start. */
  exited: Promise<number | null>;
}

const theaterEntry = fileURLToPath(new URL("../../../apps/theater/src/main.ts", import.meta.url));
const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;

/**
 * The environment variable naming a build of the theater (scripts/build-entry.ts, made at the start
 * of a test phase or of `npm start`): one JavaScript file that Node starts without tsx's loader and
 * transforms of the workspace's TypeScript at each start.
 */
export const THEATER_BUILD_ENV = "MALLEO_THEATER_BUILD";

const warnedStale = new Set<string>();

/**
 * Whether `build` (of the theater, or of the worker for scripts/start.ts) is there and no source
 * file it was built from (its `.inputs.json`) changed since it was built. A stale or unreadable
 * build is never started: the caller falls back to the source under tsx, and this says so once per build.
 */
export function buildIsCurrent(build: string): boolean {
  let problem: string | undefined;
  try {
    const manifest = JSON.parse(readFileSync(`${build}.inputs.json`, "utf8")) as { builtAt: number; inputs: string[] };
    statSync(build);
    const changed = manifest.inputs.find((input) => statSync(input).mtimeMs > manifest.builtAt);
    if (changed) problem = `${changed} changed after it was built`;
  } catch (error) {
    problem = (error as Error).message;
  }
  if (problem === undefined) return true;
  if (!warnedStale.has(build)) {
    warnedStale.add(build);
    process.emitWarning(`not starting the build ${build} (${problem}); starting the source under tsx`);
  }
  return false;
}

/**
 * How Node starts a theater: the build named by MALLEO_THEATER_BUILD when it is current, else the
 * source under tsx. Application modules named at start (the SDK's test harness: TypeScript files
 * that import @malleo/sdk) need tsx and the same module instances as the theater, so they get the source.
 */
function theaterCommand(applicationModules: readonly string[] | undefined): string[] {
  const build = process.env[THEATER_BUILD_ENV];
  if (build && !applicationModules?.length && buildIsCurrent(build)) return [build];
  return ["--import", tsxLoader, theaterEntry];
}

/**
 * Starts a theater as a child process (a simulated VM's guest). Unless detached, the child is
 * linked to this process by an IPC channel and exits when it disconnects, so it never outlives its parent.
 * The secret travels in the environment, not argv, to keep it out of process listings.
 */
export function spawnLocalTheater(options: LocalTheaterOptions): LocalTheaterProcess {
  const args = [
    ...theaterCommand(options.applicationModules),
    "--vm",
    options.vmId,
    "--mediator",
    mediatorList(options.mediator),
  ];
  if (options.fault) args.push("--fault", options.fault);
  if (options.applicationModules?.length) args.push("--applications", options.applicationModules.join(","));
  const logFd = options.logFile ? openSync(options.logFile, "a") : undefined;
  const output = logFd ?? "inherit";
  try {
    const child = spawn(process.execPath, args, {
      stdio: options.detached ? ["ignore", output, output] : ["ignore", output, output, "ipc"],
      detached: options.detached ?? false,
      env: { ...process.env, MALLEO_THEATER_SECRET: options.secret },
    });
    if (options.detached) child.unref();
    const exited = new Promise<number | null>((resolve) => {
      child.once("exit", (code) => resolve(code));
      child.once("error", () => resolve(null));
    });
    if (child.pid === undefined) throw new Error(`could not start the theater process for ${options.vmId}`);
    return {
      pid: child.pid,
      kill: (signal = "SIGKILL") => {
        if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      },
      exited,
    };
  } finally {
    if (logFd !== undefined) closeSync(logFd); // the child holds its own copy
  }
}

function mediatorList(mediator: string | readonly string[]): string {
  return typeof mediator === "string" ? mediator : mediator.join(",");
}
