// `npm run test:chaos`: kills the worker (SIGKILL) at each step of a split and of a merge while
// heat diffusion runs on real theater processes, restarts it, and checks after each run that
// the operation ended, no actor was lost or duplicated, the heat grid is bit-identical to a
// sequential run, every libvirt domain has its row and every row its domain, and every lock is
// released. Failover scenarios run two workers (leader and standby, own executor IDs and ports)
// and kill the leader: the standby takes over and finishes the operation. Then the theater, host
// and whole-stack deaths of scripts/chaos-theaters.ts, and the deaths during a bundle
// application's upgrade of scripts/chaos-upgrade.ts, in the same pool.
// Ends with: `scenarios: N, passed: N, actors lost: 0, orphan VMs: 0`.
import type { ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { stepsForMode, type TransferMode } from "@malleo/core";
import { startEmbeddedPostgres } from "@malleo/db/admin";
import { heatSequential, type HeatConfig } from "@malleo/examples";
import { submitMerge, submitSplit } from "@malleo/workflows";
import { waitFor } from "@malleo/testing";
import { checkWorld, expectedHeat, random, scenarioWorkspace, seedHeat } from "./chaos-lib";
import {
  CHECKPOINT_MS,
  describeTheaterScenario,
  runTheaterScenario,
  THEATER_HEAT,
  theaterScenarioKey,
  theaterScenarios,
  type TheaterScenario,
} from "./chaos-theaters";
import { buildTheater, buildWorker } from "./build-entry";
import {
  describeUpgradeScenario,
  runUpgradeScenario,
  upgradeExpectedDigest,
  upgradeScenarioKey,
  upgradeScenarios,
  type UpgradeScenario,
} from "./chaos-upgrade";
import { getJson, processExited, spawnWorkerProcess, stopWorkerProcess, sweepTheaters, useWorkerBuild } from "./worker-process";

const root = path.resolve(import.meta.dirname, "..");
const workDir = path.resolve(root, process.env.MALLEO_CHAOS_DIR ?? ".data/chaos");
const HEAT: HeatConfig = { width: 48, height: 32, actors: 8, maxIterations: 1500, iterationDelayMs: 2 };
const only = process.argv.slice(2); // e.g. split:transfer:before

interface Scenario {
  kind: "split" | "merge";
  mode: TransferMode;
  step: string;
  /**
   * Where the worker is killed: before or after a step, or inside a live Transfer right after
   * its N-th move migrated (`moveN:unrecorded`, before the move is recorded) or was recorded;
   * "postgres-restart" instead restarts Postgres while the operation runs.
   */
  phase: "before" | "after" | "postgres-restart" | `move${number}:${"unrecorded" | "recorded"}`;
  /** Two workers: the leader is killed at the step and the standby (never restarted leader) finishes. */
  failover?: boolean;
}

/** Seeded, so a failing random scenario can be run again by its key. */
const SEED = Number(process.env.MALLEO_CHAOS_SEED ?? 20261201);
const LIVE_RANDOM_KILLS = 20;

function liveTransferKills(): Scenario[] {
  const next = random(SEED);
  const out = new Map<string, Scenario>();
  // One actor a move (MALLEO_LIVE_CHUNK_ACTORS=1): HEAT.actors moves, each a place to die.
  while (out.size < LIVE_RANDOM_KILLS) {
    const kind = next() < 0.5 ? "split" : "merge";
    const move = 1 + Math.floor(next() * HEAT.actors);
    const phase = `move${move}:${next() < 0.5 ? "unrecorded" : "recorded"}` as const;
    const s: Scenario = { kind, mode: "live", step: "transfer", phase };
    out.set(scenarioKey(s), s);
  }
  return [...out.values()];
}

const allScenarios: Scenario[] = [
  // The worker killed before and after every step of each mode (barrier: only the steps live has not).
  ...(["split", "merge"] as const).flatMap((kind) =>
    (["live", "barrier"] as const).flatMap((mode) =>
      stepsForMode(mode)
        .filter((step) => mode === "live" || step === "ready" || step === "transfer" || step === "resume")
        .flatMap((step) => (["before", "after"] as const).map((phase): Scenario => ({ kind, mode, step, phase }))),
    ),
  ),
  { kind: "split", mode: "live", step: "provision", phase: "postgres-restart" },
  { kind: "merge", mode: "live", step: "transfer", phase: "postgres-restart" },
  ...(["split", "merge"] as const).flatMap((kind) =>
    (["provision", "transfer"] as const).map((step): Scenario => ({ kind, mode: "live", step, phase: "after", failover: true })),
  ),
  ...liveTransferKills(),
];
function scenarioKey(s: Scenario): string {
  return `${s.kind}:${s.mode}:${s.step}:${s.phase}${s.failover ? ":failover" : ""}`;
}
const scenarios = allScenarios.filter((s) => only.length === 0 || only.includes(scenarioKey(s)));
const theaterDeaths = theaterScenarios(SEED).filter((s) => only.length === 0 || only.includes(theaterScenarioKey(s)));
const upgradeDeaths = upgradeScenarios.filter((s) => only.length === 0 || only.includes(upgradeScenarioKey(s)));

/** Whether a scenario restarts Postgres: it then runs on a server of its own (which server, and which lane). */
function restartsPostgres(s: Scenario | TheaterScenario): boolean {
  return "at" in s ? s.at === "stack-restart" : s.phase === "postgres-restart";
}

const say = (m: string) => process.stdout.write(`[chaos] ${m}\n`);

/**
 * Each scenario's Mediator and admin ports, fixed and below Linux's ephemeral range: a port found
 * free and released could be taken by a parallel scenario's theater before the worker binds it.
 */
const PORT_BASE = Number(process.env.MALLEO_CHAOS_PORT_BASE ?? 21_000);
{
  // A base inside that range (a clean-clone run once used 48000) fails scenarios at random with
  // EADDRINUSE: refuse it up front, naming the range.
  let range = [32768, 60999];
  try {
    range = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/).map(Number);
  } catch {
    // not Linux: keep the usual range
  }
  const highest = PORT_BASE + 2 * (allScenarios.length + 200) + 201;
  if (PORT_BASE <= range[1]! && highest >= range[0]!) {
    throw new Error(
      `MALLEO_CHAOS_PORT_BASE=${PORT_BASE} overlaps the ephemeral port range ${range[0]}-${range[1]} (ports up to ${highest} are used): choose a base below ${range[0]! - (highest - PORT_BASE)}`,
    );
  }
}
// A failover scenario's standby gets the ports 200 above the leader's.
const scenarioPorts = (index: number, standby = false) => ({
  mediator: PORT_BASE + 2 * index + (standby ? 200 : 0),
  admin: PORT_BASE + 2 * index + 1 + (standby ? 200 : 0),
});

interface Outcome {
  status: string;
  actorsLost: number;
  orphans: number;
  problems: string[];
}

async function runScenario(
  baseUrl: string,
  s: Scenario,
  index: number,
  expectedDigest: string,
  restartPostgres: () => Promise<void>,
): Promise<Outcome> {
  const { dataDir, url, db } = await scenarioWorkspace(baseUrl, scenarioKey(s), index, workDir);
  const problems: string[] = [];
  let worker: ChildProcess | undefined;
  let standby: ChildProcess | undefined;
  try {
    const vmIds = await seedHeat(db, dataDir, HEAT, s.kind === "split" ? "one" : "halves");
    const ports = scenarioPorts(index);
    const standbyPorts = scenarioPorts(index, true);
    let adminPort = ports.admin;
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DATABASE_URL: url,
      MALLEO_DATA_DIR: dataDir,
      MALLEO_MEDIATOR_PORT: String(ports.mediator),
      MALLEO_EXECUTOR_ID: "chaos-worker",
      MALLEO_WORKER_ADMIN_PORT: String(adminPort),
      MALLEO_POLL_MS: "200",
      MALLEO_LIVE_CHUNK_ACTORS: "1",
      MALLEO_LIVE_MOVES_IN_FLIGHT: "2",
      ...(s.failover ? { MALLEO_CLUSTER_MEDIATORS: `127.0.0.1:${ports.mediator},127.0.0.1:${standbyPorts.mediator}` } : {}),
    };
    const logFile = path.join(dataDir, "logs/worker.log");
    const crash = s.phase === "postgres-restart" ? {} : { MALLEO_CHAOS_CRASH_AT: `${s.step}:${s.phase}` };
    worker = spawnWorkerProcess({ ...env, ...crash }, logFile);
    await waitFor("the worker", () => getJson(adminPort, "/healthz"), { timeoutMs: 60_000, intervalMs: 150, ignoreErrors: true });
    if (s.failover) {
      // The standby starts once the first worker leads, so which one is killed is certain.
      standby = spawnWorkerProcess(
        {
          ...env,
          MALLEO_EXECUTOR_ID: "chaos-standby",
          MALLEO_MEDIATOR_PORT: String(standbyPorts.mediator),
          MALLEO_WORKER_ADMIN_PORT: String(standbyPorts.admin),
        },
        path.join(dataDir, "logs/standby.log"),
      );
      await waitFor(
        "the standby to register",
        async () =>
          (await db.worker.findUnique({ where: { executorId: "chaos-standby" } }))?.role === "standby" ? true : undefined,
        { timeoutMs: 60_000, intervalMs: 150, ignoreErrors: true },
      );
    }
    // The application is running before the operation starts.
    await waitFor(
      "heat to start",
      async () => ((await db.application.findUniqueOrThrow({ where: { id: "heat" } })).iteration > 0 ? true : undefined),
      { timeoutMs: 30_000, intervalMs: 150, ignoreErrors: true },
    );
    const op =
      s.kind === "split"
        ? await submitSplit(db, { vmId: vmIds[0], count: 2, targetHostIds: ["pm-2", "pm-3"], transfer: s.mode }, "chaos")
        : await submitMerge(db, { vmIds, targetHostId: "pm-1", transfer: s.mode }, "chaos");
    if (s.phase === "postgres-restart") {
      // Postgres goes away while the step runs and comes back; the worker must ride it out.
      await waitFor(
        `the ${s.step} step to start`,
        async () => ((await db.operationStep.count({ where: { operationId: op.id, name: s.step } })) > 0 ? true : undefined),
        { timeoutMs: 60_000, intervalMs: 150, ignoreErrors: true },
      );
      await restartPostgres();
      if (worker.exitCode !== null || worker.signalCode !== null) problems.push("the worker died when Postgres restarted");
    } else {
      const how = await Promise.race([processExited(worker), new Promise<string>((r) => setTimeout(() => r("timeout"), 60_000))]);
      if (how !== "SIGKILL") problems.push(`worker was not killed at ${s.step}:${s.phase} (exit: ${how})`);
      if (s.failover) {
        // The leader stays dead: the standby must take over (its own executor ID, its own ports).
        adminPort = standbyPorts.admin;
        await waitFor("the standby to take over", () => getJson(adminPort, "/healthz"), {
          timeoutMs: 60_000,
          intervalMs: 150,
          ignoreErrors: true,
        });
        const dead = await db.worker.findUnique({ where: { executorId: "chaos-worker" } });
        if (dead?.takenOverBy !== "chaos-standby") problems.push(`the killed leader was not taken over (${dead?.takenOverBy})`);
      } else {
        worker = spawnWorkerProcess(env, logFile); // same executor ID: DBOS resumes the workflow
      }
    }
    const done = await waitFor(
      "the operation to end",
      async () => {
        const o = await db.operation.findUniqueOrThrow({ where: { id: op.id } });
        return ["succeeded", "rolled_back", "failed"].includes(o.status) ? o : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 150, ignoreErrors: true },
    );
    if (done.status === "failed") problems.push(`operation failed: ${done.error}`);
    await waitFor(
      "heat to finish",
      async () =>
        (await db.application.findUniqueOrThrow({ where: { id: "heat" } })).iteration >= HEAT.maxIterations! ? true : undefined,
      { timeoutMs: 120_000, intervalMs: 150, ignoreErrors: true },
    );

    const world = await checkWorld(db, adminPort, expectedHeat(HEAT, expectedDigest));
    problems.push(...world.problems);
    return { status: done.status, actorsLost: world.actorsLost, orphans: world.orphans, problems };
  } catch (e) {
    problems.push((e as Error).message);
    return { status: "error", actorsLost: 0, orphans: 0, problems };
  } finally {
    await Promise.all([stopWorkerProcess(worker), stopWorkerProcess(standby)]);
    // A theater the crashed worker left and the restarted one did not adopt must not survive us.
    sweepTheaters(dataDir);
    await db.$disconnect();
  }
}

async function main(): Promise<void> {
  mkdirSync(workDir, { recursive: true });
  // The worker is built once, from the checkout as it is now, and every start below runs that
  // build: under tsx each of the ~150 starts compiled it again. Under the checkout, so that its
  // npm imports resolve from node_modules; one directory per run, so parallel runs do not share one.
  const buildDir = path.join(root, ".data/build", `chaos-${process.pid}`);
  const t0 = Date.now();
  useWorkerBuild(await buildWorker(path.join(buildDir, "worker.mjs")));
  // The theater too: the workers' theaters (each VM's, at each scenario's boot, split and restart)
  // start that build (MALLEO_THEATER_BUILD, in the workers' environment) instead of tsx's.
  await buildTheater(path.join(buildDir, "theater.mjs"));
  say(`built the worker and the theater in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const pgPort = Number(process.env.MALLEO_CHAOS_PG_PORT ?? 22380);
  // The scenarios that restart Postgres get a server of their own (one at a time on it), so that
  // they run beside the others instead of alone after them: restarting it disturbs nobody else.
  const alonePgPort = Number(process.env.MALLEO_CHAOS_ALONE_PG_PORT ?? pgPort + 1);
  const aloneDir = path.join(workDir, "postgres-alone");
  const [pgStarted, aloneStarted] = await Promise.allSettled([
    startEmbeddedPostgres({ dataDir: path.join(workDir, "postgres"), port: pgPort }),
    startEmbeddedPostgres({ dataDir: aloneDir, port: alonePgPort }),
  ]);
  if (pgStarted.status === "rejected" || aloneStarted.status === "rejected") {
    // Neither is left running when one did not start.
    for (const r of [pgStarted, aloneStarted]) if (r.status === "fulfilled") await r.value.stop();
    throw pgStarted.status === "rejected" ? pgStarted.reason : (aloneStarted as PromiseRejectedResult).reason;
  }
  const pg = pgStarted.value;
  let alonePg = aloneStarted.value;
  let restarting: Promise<void> | undefined;
  const restartPostgres = () =>
    (restarting ??= (async () => {
      await alonePg.stop();
      alonePg = await startEmbeddedPostgres({ dataDir: aloneDir, port: alonePgPort });
      say("restarted Postgres");
    })().finally(() => (restarting = undefined)));
  const digestOf = (h: HeatConfig) =>
    createHash("sha256")
      .update(Buffer.from(heatSequential(h.width, h.height, h.maxIterations!).buffer))
      .digest("hex");
  const expectedDigest = digestOf(HEAT);
  const theaterDigest = digestOf(THEATER_HEAT);
  const upgradeDigest = upgradeExpectedDigest();
  const total = scenarios.length + theaterDeaths.length + upgradeDeaths.length;
  let passed = 0;
  let actorsLost = 0;
  let orphans = 0;
  const lostMs: number[] = [];
  /** Each failed scenario's key and problems, in the report: the suite's summary repeats them at its end. */
  const failures: string[] = [];
  try {
    say(`seed ${SEED} (MALLEO_CHAOS_SEED); run one scenario again with: npm run test:chaos -- <its key>`);
    // Scenarios are independent (own database, data directory, ports): run a few at a time.
    const parallel = Math.max(1, Number(process.env.MALLEO_CHAOS_PARALLEL ?? 3));
    const tally = (key: string, ok: boolean, r: { actorsLost: number; orphans: number; problems: string[] }) => {
      if (ok) passed++;
      else failures.push(`${key}: ${r.problems.join("; ")}`);
      actorsLost += r.actorsLost;
      orphans += r.orphans;
    };
    const report = async (s: Scenario, i: number): Promise<void> => {
      const t0 = Date.now();
      const base = restartsPostgres(s) ? alonePg.url : pg.url;
      const r = await runScenario(base, s, i, expectedDigest, restartPostgres);
      const ok = r.problems.length === 0;
      tally(scenarioKey(s), ok, r);
      const what =
        s.phase === "postgres-restart"
          ? `Postgres restarted during ${s.step}`
          : `${s.mode}, ${s.failover ? "leader of two workers " : ""}killed ${s.phase.startsWith("move") ? `inside ${s.step} at ${s.phase}` : `${s.phase} ${s.step}`}`;
      const took = ((Date.now() - t0) / 1000).toFixed(1);
      say(`${ok ? "ok  " : "FAIL"} ${s.kind}, ${what}: ${r.status} in ${took} s${ok ? "" : ` — ${r.problems.join("; ")}`}`);
    };
    const reportTheater = async (s: TheaterScenario, i: number): Promise<void> => {
      const t0 = Date.now();
      const r = await runTheaterScenario(restartsPostgres(s) ? alonePg.url : pg.url, s, i, {
        workDir,
        ports: scenarioPorts(i),
        expectedDigest: theaterDigest,
        restartPostgres,
      });
      const ok = r.problems.length === 0;
      tally(theaterScenarioKey(s), ok, r);
      if (r.lostMs !== null) lostMs.push(r.lostMs);
      const took = ((Date.now() - t0) / 1000).toFixed(1);
      const lost = r.lostMs === null ? "" : `, ${r.lostMs} ms of progress lost`;
      say(
        `${ok ? "ok  " : "FAIL"} ${theaterScenarioKey(s)}: ${describeTheaterScenario(s)}: ${r.status}${lost} in ${took} s${ok ? "" : ` — ${r.problems.join("; ")}`}`,
      );
    };
    const reportUpgrade = async (s: UpgradeScenario, i: number): Promise<void> => {
      const t0 = Date.now();
      const r = await runUpgradeScenario(pg.url, s, i, { workDir, ports: scenarioPorts(i), expectedDigest: upgradeDigest });
      const ok = r.problems.length === 0;
      tally(upgradeScenarioKey(s), ok, r);
      const took = ((Date.now() - t0) / 1000).toFixed(1);
      say(
        `${ok ? "ok  " : "FAIL"} ${upgradeScenarioKey(s)}: ${describeUpgradeScenario(s)}: ${r.status} in ${took} s${ok ? "" : ` — ${r.problems.join("; ")}`}`,
      );
    };
    // Restarting Postgres would disturb the scenarios on it: those that do run one after the
    // other on their own server (alonePg), on the first lane, while the other lanes start the pool.
    type Job = () => Promise<void>;
    const jobs: Job[] = [];
    const alone: Job[] = [];
    let index = 0;
    for (const s of scenarios) {
      const i = index++;
      (restartsPostgres(s) ? alone : jobs).push(() => report(s, i));
    }
    for (const s of theaterDeaths) {
      const i = index++;
      (restartsPostgres(s) ? alone : jobs).push(() => reportTheater(s, i));
    }
    // The upgrade deaths take longest (a deploy, then the upgrade): first in the pool, so that no
    // lane is left running one after the others ended.
    const upgradeJobs: Job[] = [];
    for (const s of upgradeDeaths) {
      const i = index++;
      upgradeJobs.push(() => reportUpgrade(s, i));
    }
    jobs.unshift(...upgradeJobs);
    const runNext = async (): Promise<void> => {
      for (let job = jobs.shift(); job; job = jobs.shift()) await job();
    };
    const runAloneThenNext = async (): Promise<void> => {
      for (const job of alone) await job();
      await runNext();
    };
    await Promise.all([runAloneThenNext(), ...Array.from({ length: parallel - 1 }, runNext)]);
  } finally {
    await Promise.all([pg.stop(), alonePg.stop()]);
    rmSync(buildDir, { recursive: true, force: true });
  }
  if (lostMs.length > 0)
    say(`progress lost at a theater or stack death: max ${Math.max(...lostMs)} ms (checkpoint interval ${CHECKPOINT_MS} ms)`);
  process.stdout.write(`scenarios: ${total}, passed: ${passed}, actors lost: ${actorsLost}, orphan VMs: ${orphans}\n`);
  if (process.env.MALLEO_CHAOS_REPORT) {
    writeFileSync(process.env.MALLEO_CHAOS_REPORT, JSON.stringify({ scenarios: total, passed, actorsLost, orphans, failures }));
  }
  process.exit(passed === total ? 0 : 1);
}

void main();
