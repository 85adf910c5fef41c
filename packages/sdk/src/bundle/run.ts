// Running the bundle child process (child.ts) from the web or worker process: the bundle's code is
// loaded there, never here. The child is time- and memory-limited and killed when it overstays.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { deserialize, serialize } from "node:v8";
import type { ActorSpec } from "@malleo/actors";
import { bundleManifestSchema, type BundleManifest } from "./manifest";
import type { BundleAnswer, BundleRequest } from "./protocol";

const CHILD = "packages/sdk/src/bundle/child.ts";

/**
 * The repository root: where the child's entry is, and its cwd, so that `--import tsx` resolves
 * from its node_modules. Found upwards from this file's location (by string: a bundler must not
 * turn it into an asset) — from the web build's server chunks too — or else from the cwd.
 */
function ownDirectory(): string {
  try {
    return dirname(fileURLToPath(import.meta.url));
  } catch {
    return process.cwd(); // not a file: URL (some bundlers)
  }
}

function repositoryRoot(): string {
  for (const start of [ownDirectory(), process.cwd()]) {
    for (let dir = start; ; dir = dirname(dir)) {
      if (existsSync(join(dir, CHILD))) return dir;
      if (dirname(dir) === dir) break;
    }
  }
  throw new Error(`cannot find ${CHILD} above ${ownDirectory()} or ${process.cwd()}`);
}

let root: string | undefined;

/**
 * How long a bundle's check may take by default: `MALLEO_BUNDLE_CHECK_TIMEOUT_MS`, or 15 s. A
 * machine whose cores are oversubscribed takes longer to start the child and import a bundle.
 */
export function bundleCheckTimeoutMs(env: Readonly<Record<string, string | undefined>> = process.env): number {
  const raw = env.MALLEO_BUNDLE_CHECK_TIMEOUT_MS;
  if (raw === undefined || raw === "") return 15_000;
  const ms = Number(raw);
  if (!Number.isSafeInteger(ms) || ms <= 0)
    throw new Error(`MALLEO_BUNDLE_CHECK_TIMEOUT_MS must be a whole number of milliseconds above 0, not ${JSON.stringify(raw)}`);
  return ms;
}

export interface BundleLimits {
  /** How long the child may take to load the bundle and answer (default bundleCheckTimeoutMs()). */
  timeoutMs?: number;
  /** Its V8 heap limit (default 256 MiB). */
  memoryMiB?: number;
}

/** A bundle refused, with every reason; nothing was stored. */
export class BundleRefusedError extends Error {
  constructor(
    readonly problems: string[],
    /** The configuration was refused by the module's schema (not the bundle itself). */
    readonly configInvalid = false,
  ) {
    super(`the bundle is refused: ${problems.join("; ")}`);
    this.name = "BundleRefusedError";
  }
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/**
 * Writes the bytes where the child (and a theater) imports them from: one file per checksum. The
 * directory is shared by every process on the machine (the theaters of one migration, parallel
 * test files), so the file is written aside and renamed into place: another process importing it
 * meanwhile reads the whole of it, never a file truncated by a second write of the same bytes.
 */
export function bundleFile(bytes: Uint8Array, dir = join(tmpdir(), "malleo-bundles")): string {
  const file = join(dir, `${sha256Hex(bytes)}.mjs`);
  mkdirSync(dir, { recursive: true });
  const partial = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.partial`;
  writeFileSync(partial, bytes);
  renameSync(partial, file);
  return file;
}

async function ask(file: string, request: BundleRequest, limits: BundleLimits): Promise<BundleAnswer> {
  const timeoutMs = limits.timeoutMs ?? bundleCheckTimeoutMs();
  const memoryMiB = limits.memoryMiB ?? 256;
  root ??= repositoryRoot();
  const child = spawn(process.execPath, [`--max-old-space-size=${memoryMiB}`, "--import", "tsx", join(root, CHILD), file], {
    cwd: root,
    stdio: ["pipe", "ignore", "pipe", "pipe"],
    env: { PATH: process.env.PATH ?? "", NODE_ENV: process.env.NODE_ENV ?? "production" },
  });
  const out: Buffer[] = [];
  let err = "";
  child.stdio[3]!.on("data", (b: Buffer) => out.push(b));
  child.stderr!.on("data", (b: Buffer) => {
    if (err.length < 64 * 1024) err += b.toString("utf8");
  });
  child.stdin!.on("error", () => {}); // a child that dies before reading: its exit says why
  child.stdin!.end(serialize(request));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL");
  }, timeoutMs);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => {
    child.once("close", (c, s) => resolve([c, s]));
    child.once("error", () => resolve([null, null]));
  });
  clearTimeout(timer);
  if (timedOut) throw new BundleRefusedError([`it did not load and answer within ${timeoutMs / 1000} s`]);
  const answer = Buffer.concat(out);
  if (answer.byteLength > 0) {
    try {
      return deserialize(answer) as BundleAnswer;
    } catch {
      // fall through: a truncated answer is a crash
    }
  }
  if (/heap out of memory|Allocation failed/i.test(err))
    throw new BundleRefusedError([`it ran out of memory while loading (limit ${memoryMiB} MiB)`]);
  const last = err.trim().split("\n").slice(-3).join(" ").slice(0, 500);
  throw new BundleRefusedError([`its check exited (${signal ?? `code ${code}`}) without an answer${last ? `: ${last}` : ""}`]);
}

/** Loads the bundle in a child process and returns its manifest; refuses, saying why, one that is not an application. */
export async function inspectBundle(file: string, limits: BundleLimits = {}): Promise<BundleManifest> {
  const a = await ask(file, { command: "inspect" }, limits);
  if (!a.ok) throw new BundleRefusedError(a.problems);
  if (!("manifest" in a)) throw new BundleRefusedError(["its check answered something else than a manifest"]);
  const parsed = bundleManifestSchema.safeParse(a.manifest);
  if (!parsed.success) throw new BundleRefusedError([`its manifest is malformed: ${parsed.error.message}`]);
  return parsed.data;
}

export interface BundlePlan {
  config: unknown;
  actors: ActorSpec[];
  groups: string[][];
}

/** The configuration as the module's schema reads it, its actors and their layout onto `vms` VMs — computed in a child process. */
export async function planBundle(
  file: string,
  applicationId: string,
  config: unknown,
  vms: number,
  limits: BundleLimits = {},
): Promise<BundlePlan> {
  const a = await ask(file, { command: "plan", applicationId, config, vms }, limits);
  if (!a.ok) throw new BundleRefusedError(a.problems, a.configInvalid === true);
  if (!("actors" in a)) throw new BundleRefusedError(["its check answered something else than a plan"]);
  return a;
}

/** The application's result from its actors' states (its module's `result`), computed in a child process. */
export async function bundleResult(
  file: string,
  config: unknown,
  states: ReadonlyMap<string, unknown>,
  limits: BundleLimits = {},
): Promise<Uint8Array> {
  const a = await ask(file, { command: "result", config, states }, { memoryMiB: 1024, ...limits });
  if (!a.ok) throw new BundleRefusedError(a.problems, a.configInvalid === true);
  if (!("result" in a)) throw new BundleRefusedError(["its check answered something else than a result"]);
  return a.result;
}

/** Actors' states of state format `from` as the bundle's module reads them (its `migrateState`), computed in a child process. */
export async function bundleMigrateStates(
  file: string,
  from: number,
  actors: { behavior: string; state: unknown }[],
  limits: BundleLimits = {},
): Promise<unknown[]> {
  const a = await ask(file, { command: "migrate", from, actors }, { memoryMiB: 1024, ...limits });
  if (!a.ok) throw new Error(`its migrateState failed: ${a.problems.join("; ")}`);
  if (!("states" in a) || a.states.length !== actors.length)
    throw new BundleRefusedError(["its migrateState answered something else than one state per actor"]);
  return a.states;
}
