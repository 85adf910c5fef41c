// Chaos during an upgrade (scripts/chaos.ts runs these beside its worker and theater deaths):
// PageRank built as a bundle (ranks 2.0.0, as the bundle tests build it) is deployed on two VMs
// and upgraded to 2.1.0 (the same state format) by each strategy. Restart (validate → checkpoint
// → restart): the worker SIGKILLed before or after the checkpoint step or inside the restart once
// its first VM rebooted (its new theater up, no actor restored yet), or that new theater
// SIGKILLed there. Rolling (validate → provision → checkpoint → transfer → clean up, new VMs on
// 2.1.0): the worker SIGKILLed between the first move's migration and its record or before clean-up,
// or the first move's new theater SIGKILLed once the move is recorded. The worker comes back (same
// executor ID: DBOS resumes the workflow). After each: the upgrade succeeded (resumed) or rolled
// back, the application runs the version that says on every VM's theater, every actor is hosted
// exactly once, anything restored came from the upgrade's checkpoint (a rolling upgrade restores
// only after a theater's death), no VM is orphaned or left locked, and the ranks end
// bit-identical to the sequential reference.
import type { ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { registerBundle } from "@malleo/api";
import { pagerankSequential, type PagerankConfig } from "@malleo/pagerank";
import { buildBundle } from "@malleo/sdk/bundle/build";
import { submitDeploy, submitUpgrade } from "@malleo/workflows";
import { seedSimulatedHosts, waitFor } from "@malleo/testing";
import { checkWorld, scenarioWorkspace } from "./chaos-lib";
import { getJson, processExited, spawnWorkerProcess, stopWorkerProcess, sweepTheaters } from "./worker-process";

const root = path.resolve(import.meta.dirname, "..");
/** Small and short: the upgrade falls in the middle of the run and the ranks still finish soon after. */
export const UPGRADE_RANKS: PagerankConfig = {
  nodes: 2000,
  partitions: 8,
  maxOutDegree: 6,
  seed: 7,
  damping: 0.85,
  maxIterations: 500,
  iterationDelayMs: 10,
};
const APP = "ranks-up";
const FROM = "2.0.0";
const TO = "2.1.0";

export type UpgradeScenario =
  /** Restart strategy: the worker SIGKILLed at a fault point of the upgrade (MALLEO_CHAOS_CRASH_AT). */
  | { strategy: "restart"; at: "worker"; point: "checkpoint:before" | "checkpoint:after" | "restart:vm1:rebooted" }
  /** Restart strategy: the first VM's new theater SIGKILLed once that VM rebooted, before any actor is restored (MALLEO_CHAOS_KILL_THEATER_AT). */
  | { strategy: "restart"; at: "theater"; point: "restart:vm1:rebooted" }
  /** Rolling strategy: the worker SIGKILLed between the first move's migration and its record, or before clean-up. */
  | { strategy: "rolling"; at: "worker"; point: "transfer:move1:unrecorded" | "cleanup:before" }
  /** Rolling strategy: the first move's target theater (a new VM, on the new version) SIGKILLed once the move is recorded. */
  | { strategy: "rolling"; at: "theater"; point: "transfer:move1:recorded:target" };

export const upgradeScenarios: UpgradeScenario[] = [
  { strategy: "restart", at: "worker", point: "checkpoint:before" },
  { strategy: "restart", at: "worker", point: "checkpoint:after" },
  { strategy: "restart", at: "worker", point: "restart:vm1:rebooted" },
  { strategy: "restart", at: "theater", point: "restart:vm1:rebooted" },
  { strategy: "rolling", at: "worker", point: "transfer:move1:unrecorded" },
  { strategy: "rolling", at: "worker", point: "cleanup:before" },
  { strategy: "rolling", at: "theater", point: "transfer:move1:recorded:target" },
];

export const upgradeScenarioKey = (s: UpgradeScenario) =>
  s.strategy === "restart" ? `upgrade:${s.at}:${s.point}` : `upgrade-rolling:${s.at}:${s.point}`;

export function describeUpgradeScenario(s: UpgradeScenario): string {
  const who = s.at === "worker" ? "worker" : s.strategy === "restart" ? "the rebooted VM's theater" : "a new VM's theater";
  const where =
    s.point === "restart:vm1:rebooted"
      ? "inside restart once the first VM rebooted"
      : s.point === "transfer:move1:unrecorded"
        ? "between the first move and its record"
        : s.point === "transfer:move1:recorded:target"
          ? "once the first move was recorded"
          : s.point.replace(/^(\w+):(\w+)$/, "$2 $1");
  return `${s.strategy} upgrade ${FROM} → ${TO}, ${who} killed ${where}`;
}

export const upgradeExpectedDigest = () =>
  createHash("sha256")
    .update(Buffer.from(pagerankSequential(UPGRADE_RANKS, UPGRADE_RANKS.maxIterations!).buffer))
    .digest("hex");

/** Both versions built once a run (esbuild), into the chaos directory. */
let built: Promise<Uint8Array[]> | undefined;
function bundles(workDir: string): Promise<Uint8Array[]> {
  built ??= (async () => {
    const dir = path.join(workDir, "bundles");
    mkdirSync(dir, { recursive: true });
    const sources = [
      path.join(root, "applications/pagerank/test-fixtures/ranks-bundle.ts"),
      path.join(root, "scripts/chaos-fixtures/ranks-2.1.ts"),
    ];
    return Promise.all(
      sources.map(async (src, i) => {
        const file = path.join(dir, `ranks-${i}.bundle.mjs`);
        await buildBundle(src, file);
        return readFileSync(file);
      }),
    );
  })();
  return built;
}

type LogEntry = { time: string; msg: string; vmId?: string; version?: string; applicationId?: string; application?: string };

/** The worker log's lines with one of these messages, in order (over every worker process of the scenario). */
function logLines(logFile: string, msgs: string[]): LogEntry[] {
  const out: LogEntry[] = [];
  for (const line of readFileSync(logFile, "utf8").split("\n")) {
    if (!msgs.some((m) => line.includes(`"${m}"`))) continue;
    try {
      const entry = JSON.parse(line) as LogEntry;
      if (msgs.includes(entry.msg)) out.push(entry);
    } catch {
      // a partly written line
    }
  }
  return out;
}

/** The version of the bundle each VM's theater was last given (the Mediator's "bundle delivered" lines). */
function deliveredVersions(logFile: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const e of logLines(logFile, ["bundle delivered"]))
    if (e.vmId && e.version && e.applicationId === APP) out.set(e.vmId, e.version);
  return out;
}

/** What a starting worker's application runner does to actors it finds missing (apps/worker/src/applications.ts). */
const RUNNER_RESTORES = ["application started from checkpoint", "restore from checkpoint failed; starting from scratch"];

export interface UpgradeOutcome {
  status: string;
  actorsLost: number;
  orphans: number;
  problems: string[];
}

export async function runUpgradeScenario(
  baseUrl: string,
  s: UpgradeScenario,
  index: number,
  opts: { workDir: string; ports: { mediator: number; admin: number }; expectedDigest: string },
): Promise<UpgradeOutcome> {
  const { dataDir, url, db } = await scenarioWorkspace(baseUrl, upgradeScenarioKey(s), index, opts.workDir);
  const problems: string[] = [];
  let worker: ChildProcess | undefined;
  try {
    await seedSimulatedHosts(db, dataDir);
    for (const bytes of await bundles(opts.workDir)) await registerBundle(db, bytes, "chaos");
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DATABASE_URL: url,
      MALLEO_DATA_DIR: dataDir,
      MALLEO_MEDIATOR_PORT: String(opts.ports.mediator),
      MALLEO_EXECUTOR_ID: "chaos-worker",
      MALLEO_WORKER_ADMIN_PORT: String(opts.ports.admin),
      MALLEO_POLL_MS: "200",
      MALLEO_CHECKPOINT_MS: "0", // the upgrade takes its own: the only checkpoint there is to restore
      MALLEO_THEATER_LOST_GRACE_MS: "500",
    };
    const fault =
      s.at === "worker"
        ? { MALLEO_CHAOS_CRASH_AT: s.point }
        : { MALLEO_CHAOS_KILL_THEATER_AT: s.point, MALLEO_CHAOS_FAULTS: "1" };
    const logFile = path.join(dataDir, "logs/worker.log");
    const healthy = () =>
      waitFor("the worker", () => getJson(opts.ports.admin, "/healthz"), {
        timeoutMs: 120_000,
        intervalMs: 150,
        ignoreErrors: true,
      });
    worker = spawnWorkerProcess({ ...env, ...fault }, logFile);
    await healthy();
    const ended = (operationId: string, timeoutMs = 120_000) =>
      waitFor(
        `operation ${operationId} to end`,
        async () => {
          const o = await db.operation.findUniqueOrThrow({ where: { id: operationId } });
          return ["succeeded", "rolled_back", "failed"].includes(o.status) ? o : undefined;
        },
        { timeoutMs, intervalMs: 150, ignoreErrors: true },
      );
    // Setting up, not under test: planning a deploy loads the bundle in a child process, which a
    // loaded machine can make miss its 15 s; try that again rather than lose the scenario.
    const submitOnLoadedMachine = async (input: unknown) => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await submitDeploy(db, input, "chaos");
        } catch (e) {
          if (attempt >= 5 || !/did not load and answer/.test((e as Error).message)) throw e;
        }
      }
    };
    const deploy = await submitOnLoadedMachine({
      applicationId: APP,
      kind: "ranks",
      version: FROM,
      config: UPGRADE_RANKS,
      vms: [
        { hostId: "pm-1", vcpus: 2, memoryMiB: 2048 },
        { hostId: "pm-2", vcpus: 2, memoryMiB: 2048 },
      ],
    });
    const deployed = await ended(deploy.id, 90_000);
    if (deployed.status !== "succeeded") throw new Error(`the deploy ${deployed.status}: ${deployed.error}`);
    const app = () => db.application.findUniqueOrThrow({ where: { id: APP } });
    // The application is running before the upgrade starts.
    await waitFor("ranks to run", async () => ((await app()).iteration > 20 ? true : undefined), {
      timeoutMs: 60_000,
      intervalMs: 150,
      ignoreErrors: true,
    });
    const op = await submitUpgrade(db, { applicationId: APP, version: TO, strategy: s.strategy }, "chaos");
    if (s.at === "worker") {
      const how = await Promise.race([processExited(worker), new Promise<string>((r) => setTimeout(() => r("timeout"), 60_000))]);
      if (how !== "SIGKILL") problems.push(`worker was not killed at ${s.point} (exit: ${how})`);
      worker = spawnWorkerProcess(env, logFile); // same executor ID: DBOS resumes the workflow
      await healthy();
    }
    const done = await ended(op.id);
    if (done.status === "failed") problems.push(`operation failed: ${done.error}`);
    if (s.at === "theater" && !readFileSync(logFile, "utf8").includes('"fault injected: theater SIGKILL"'))
      problems.push("no theater was killed");

    // The version the operation says, recorded and running on every VM's theater.
    const expected = done.status === "succeeded" ? TO : FROM;
    const row = await app();
    if (row.bundleVersion !== expected)
      problems.push(`the upgrade ${done.status} but the application records ${row.bundleVersion}, not ${expected}`);
    await waitFor(
      "ranks to run again and finish",
      async () => {
        const a = await app();
        return a.status === "running" && a.iteration >= UPGRADE_RANKS.maxIterations! ? true : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 150, ignoreErrors: true },
    );
    const vms = await db.vm.findMany({ where: { applicationId: APP, state: { not: "deleted" } } });
    const delivered = deliveredVersions(logFile);
    const wrong = vms.filter((v) => delivered.get(v.id) !== expected);
    if (wrong.length)
      problems.push(`theaters not on ${expected}: ${wrong.map((v) => `${v.name}:${delivered.get(v.id) ?? "none"}`).join(", ")}`);

    // Restored from the upgrade's checkpoint, and only from it.
    const steps = await db.operationStep.findMany({ where: { operationId: op.id }, orderBy: { id: "asc" } });
    const checkpoint = steps.find((st) => st.name === "checkpoint" && st.status === "succeeded");
    const sequence = (checkpoint?.detail as { sequence?: number } | undefined)?.sequence;
    const restores = (await db.auditEvent.findMany({ where: { procedure: "checkpoint.restored" }, orderBy: { id: "asc" } })).map(
      (r) => (r.input as { sequence: number }).sequence,
    );
    if (s.strategy === "rolling") {
      // Nothing restarts; a theater's death is recovered from the upgrade's checkpoint, the only one.
      if (restores.some((n) => n !== sequence))
        problems.push(`restored from checkpoints [${restores.join(", ")}], not the upgrade's #${sequence ?? "none"}`);
      if (s.at === "worker" && restores.length > 0) problems.push(`no theater died, yet restored from [${restores.join(", ")}]`);
    } else if (steps.some((st) => st.name === "restart")) {
      if (sequence === undefined) problems.push("the upgrade restarted without a checkpoint");
      else if (restores.length === 0 || restores.some((n) => n !== sequence))
        problems.push(`restored from checkpoints [${restores.join(", ")}], not the upgrade's #${sequence}`);
    } else if (restores.length > 0) problems.push(`rolled back before its restart, yet restored from [${restores.join(", ")}]`);

    // Once the restart has begun only its own steps (restart, or rollback) bring actors back: a
    // worker restarted meanwhile that restored them itself would run them on whichever version
    // each theater happens to hold (rebooted or not yet), unmigrated.
    const restartBegan = steps.find((st) => st.name === "restart")?.startedAt.getTime();
    const until = done.finishedAt?.getTime() ?? Date.now();
    const byRunner = logLines(logFile, RUNNER_RESTORES).filter((e) => {
      const at = Date.parse(e.time);
      return e.application === APP && restartBegan !== undefined && at > restartBegan && at < until;
    });
    if (byRunner.length)
      problems.push(
        `while the upgrade's restart was under way, the worker's start restored the actors itself (${byRunner[0]!.msg})`,
      );

    const world = await checkWorld(db, opts.ports.admin, {
      applicationId: APP,
      actors: UPGRADE_RANKS.partitions,
      digest: opts.expectedDigest,
    });
    problems.push(...world.problems);
    return { status: done.status, actorsLost: world.actorsLost, orphans: world.orphans, problems };
  } catch (e) {
    problems.push((e as Error).message);
    return { status: "error", actorsLost: 0, orphans: 0, problems };
  } finally {
    await stopWorkerProcess(worker);
    sweepTheaters(dataDir);
    await db.$disconnect();
  }
}
