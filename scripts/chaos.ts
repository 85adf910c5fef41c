// `npm run test:chaos`: kills the worker (SIGKILL) at each step of a split and of a merge while
// heat diffusion runs on real theater processes, restarts it, and checks after each run that
// the operation ended, no actor was lost or duplicated, the heat grid is bit-identical to a
// sequential run, every libvirt domain has its row and every row its domain, and every lock is
// released. Failover scenarios run two workers (leader and standby, own executor IDs and ports)
// and kill the leader: the standby takes over and finishes the operation.
// Ends with: `scenarios: N, passed: N, actors lost: 0, orphan VMs: 0`.
import type { ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { stepsForMode, type TransferMode } from "@malleo/core";
import { actorCreateMany, applicationUpsert, createDb, vmCreate, type Db } from "@malleo/db";
import { databaseUrl, ensureDatabase, migrateDatabase, startEmbeddedPostgres } from "@malleo/db/admin";
import { heatActorSpecs, heatSequential, type HeatConfig } from "@malleo/examples";
import { submitMerge, submitSplit } from "@malleo/workflows";
import { seedSimulatedHosts, waitFor } from "@malleo/testing";
import { getJson, processExited, spawnWorkerProcess, stopWorkerProcess, sweepTheaters } from "./worker-process";

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

/** Seeded (mulberry32), so a failing random scenario can be run again by its key. */
const SEED = Number(process.env.MALLEO_CHAOS_SEED ?? 20261201);
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
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

const say = (m: string) => process.stdout.write(`[chaos] ${m}\n`);

/**
 * Each scenario's Mediator and admin ports, fixed and below Linux's ephemeral range: a port found
 * free and released could be taken by a parallel scenario's theater before the worker binds it.
 */
const PORT_BASE = Number(process.env.MALLEO_CHAOS_PORT_BASE ?? 21_000);
// A failover scenario's standby gets the ports 200 above the leader's.
const scenarioPorts = (index: number, standby = false) => ({
  mediator: PORT_BASE + 2 * index + (standby ? 200 : 0),
  admin: PORT_BASE + 2 * index + 1 + (standby ? 200 : 0),
});

async function seed(db: Db, dataDir: string, kind: "split" | "merge"): Promise<string[]> {
  await seedSimulatedHosts(db, dataDir);
  await applicationUpsert(db, { id: "heat", kind: "heat", config: HEAT as never });
  const specs = heatActorSpecs("heat", HEAT);
  // A split starts from one VM; a merge from two halves on two hosts.
  const layout =
    kind === "split"
      ? [{ name: "heat-1", hostId: "pm-1", vcpus: 4, memoryMiB: 8192, actors: specs }]
      : [
          { name: "heat-a", hostId: "pm-2", vcpus: 2, memoryMiB: 4096, actors: specs.slice(0, HEAT.actors / 2) },
          { name: "heat-b", hostId: "pm-3", vcpus: 2, memoryMiB: 4096, actors: specs.slice(HEAT.actors / 2) },
        ];
  const ids: string[] = [];
  let ordinal = 0;
  for (const vm of layout) {
    const id = crypto.randomUUID();
    ids.push(id);
    await vmCreate(db, {
      id,
      name: vm.name,
      hostId: vm.hostId,
      applicationId: "heat",
      vcpus: vm.vcpus,
      memoryMiB: vm.memoryMiB,
      state: "running",
    });
    await actorCreateMany(
      db,
      vm.actors.map((s) => ({ uan: s.uan, applicationId: "heat", vmId: id, behavior: s.behavior, ordinal: ordinal++ })),
    );
  }
  return ids;
}

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
  const name = scenarioKey(s).replace(/:/g, "-");
  const dataDir = path.join(workDir, name);
  rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(path.join(dataDir, "logs"), { recursive: true });
  const dbName = `chaos_${index}`;
  const admin = createDb(baseUrl, { max: 1 });
  await admin.$executeRawUnsafe(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
  await admin.$executeRawUnsafe(`DROP DATABASE IF EXISTS "${dbName}_dbos" WITH (FORCE)`);
  await admin.$disconnect();
  await ensureDatabase(baseUrl, dbName);
  const url = databaseUrl(baseUrl, dbName);
  await migrateDatabase(url);
  const db = createDb(url, { max: 3 });
  const problems: string[] = [];
  let worker: ChildProcess | undefined;
  let standby: ChildProcess | undefined;
  try {
    const vmIds = await seed(db, dataDir, s.kind);
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

    const inventory = await getJson<{ domains: { hostId: string; name: string }[]; actors: { uan: string; vmId: string }[] }>(
      adminPort,
      "/inventory",
    );
    const live = await db.vm.findMany({ where: { state: { not: "deleted" } } });
    const liveNames = new Set(live.map((v) => v.name));
    const domainNames = new Set(inventory.domains.map((d) => d.name));
    const orphans = [...domainNames].filter((n) => !liveNames.has(n));
    const missing = [...liveNames].filter((n) => !domainNames.has(n));
    if (orphans.length) problems.push(`orphan domains: ${orphans.join(", ")}`);
    if (missing.length) problems.push(`rows without a domain: ${missing.join(", ")}`);
    const notClean = live.filter((v) => v.state !== "running" || v.lockedBy !== null);
    if (notClean.length)
      problems.push(`VMs not running or still locked: ${notClean.map((v) => `${v.name}:${v.state}:${v.lockedBy}`).join(", ")}`);

    const rows = await db.actor.findMany();
    const found = new Map(inventory.actors.map((a) => [a.uan, a.vmId]));
    const lost = rows.filter((r) => !found.has(r.uan));
    if (lost.length) problems.push(`actors lost: ${lost.map((r) => r.uan).join(", ")}`);
    if (inventory.actors.length !== HEAT.actors)
      problems.push(`theaters host ${inventory.actors.length} actors, expected ${HEAT.actors}`);
    const misplaced = rows.filter((r) => found.has(r.uan) && found.get(r.uan) !== r.vmId);
    if (misplaced.length) problems.push(`actors recorded on the wrong VM: ${misplaced.map((r) => r.uan).join(", ")}`);
    const onDead = rows.filter((r) => !live.some((v) => v.id === r.vmId));
    if (onDead.length) problems.push(`actors on a deleted VM: ${onDead.length}`);

    const digest = await getJson<{ actors: number; sha256: string }>(adminPort, "/applications/heat/digest");
    if (digest.sha256 !== expectedDigest) problems.push("heat grid differs from the sequential run");

    return { status: done.status, actorsLost: lost.length, orphans: orphans.length, problems };
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
  const pgPort = Number(process.env.MALLEO_CHAOS_PG_PORT ?? 54380);
  let pg = await startEmbeddedPostgres({ dataDir: path.join(workDir, "postgres"), port: pgPort });
  let restarting: Promise<void> | undefined;
  const restartPostgres = () =>
    (restarting ??= (async () => {
      await pg.stop();
      pg = await startEmbeddedPostgres({ dataDir: path.join(workDir, "postgres"), port: pgPort });
      say("restarted Postgres");
    })().finally(() => (restarting = undefined)));
  const reference = heatSequential(HEAT.width, HEAT.height, HEAT.maxIterations!);
  const expectedDigest = createHash("sha256").update(Buffer.from(reference.buffer)).digest("hex");
  let passed = 0;
  let actorsLost = 0;
  let orphans = 0;
  try {
    say(`seed ${SEED} (MALLEO_CHAOS_SEED); run one scenario again with: npm run test:chaos -- <kind:mode:step:phase>`);
    // Scenarios are independent (own database, data directory, ports): run a few at a time.
    const parallel = Math.max(1, Number(process.env.MALLEO_CHAOS_PARALLEL ?? 3));
    const report = async (s: Scenario, i: number): Promise<void> => {
      const t0 = Date.now();
      const r = await runScenario(pg.url, s, i, expectedDigest, restartPostgres);
      const ok = r.problems.length === 0;
      if (ok) passed++;
      actorsLost += r.actorsLost;
      orphans += r.orphans;
      const what =
        s.phase === "postgres-restart"
          ? `Postgres restarted during ${s.step}`
          : `${s.mode}, ${s.failover ? "leader of two workers " : ""}killed ${s.phase.startsWith("move") ? `inside ${s.step} at ${s.phase}` : `${s.phase} ${s.step}`}`;
      const took = ((Date.now() - t0) / 1000).toFixed(1);
      say(`${ok ? "ok  " : "FAIL"} ${s.kind}, ${what}: ${r.status} in ${took} s${ok ? "" : ` — ${r.problems.join("; ")}`}`);
    };
    // Restarting Postgres would disturb the others: those scenarios run alone, after them.
    const crashes = scenarios.filter((s) => s.phase !== "postgres-restart");
    const restarts = scenarios.filter((s) => s.phase === "postgres-restart");
    let next = 0;
    const runNext = async (): Promise<void> => {
      while (next < crashes.length) {
        const i = next++;
        await report(crashes[i]!, i);
      }
    };
    await Promise.all(Array.from({ length: parallel }, runNext));
    for (const [k, s] of restarts.entries()) await report(s, crashes.length + k);
  } finally {
    await pg.stop();
  }
  process.stdout.write(`scenarios: ${scenarios.length}, passed: ${passed}, actors lost: ${actorsLost}, orphan VMs: ${orphans}\n`);
  if (process.env.MALLEO_CHAOS_REPORT) {
    writeFileSync(process.env.MALLEO_CHAOS_REPORT, JSON.stringify({ scenarios: scenarios.length, passed, actorsLost, orphans }));
  }
  process.exit(passed === scenarios.length ? 0 : 1);
}

void main();
