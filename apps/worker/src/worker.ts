import path from "node:path";
import { DBOS } from "@dbos-inc/dbos-sdk";
import { hostUriPolicyFromEnv } from "@malleo/core";
import {
  applicationList,
  clusterKeyGet,
  createDb,
  theaterSecretsLoad,
  theaterSecretsSave,
  type Db,
  type ReconcileFindingInput,
} from "@malleo/db";
import { databaseUrl, ensureDatabase } from "@malleo/db/admin";
import { Mediator } from "@malleo/mediator";
import { bundleOfApplication } from "@malleo/workflows";
import { installOperationEffects, type OperationEffects } from "@malleo/workflows/worker";
import { serveHostProbes } from "./host-probes";
import { startAdminServer } from "./admin-server";
import { ActorControl } from "./actor-control";
import { ApplicationRunner } from "./applications";
import { Checkpointer, type CheckpointOutcome } from "./checkpoints";
import type { ClusterMembership } from "./cluster";
import { startOperationQueue } from "./hand-over";
import type { WorkerEnv } from "./env";
import { createLogger } from "./log";
import { CommunicationSampler } from "./communication-sampler";
import { CpuSampler, readCpuTimes } from "./cpu-sampler";
import { GuestTheaters } from "./guest-theaters";
import { bundleStateMigration } from "./upgrade";
import { parseConfiguredHosts, registerConfiguredHosts } from "./host-registry";
import { Reconciler } from "./reconcile";
import { Recovery } from "./recovery";
import { VmManager } from "./vm-manager";

/** The `cluster_keys` row of the theaters' peer key. */
const THEATER_PEER_KEY = "theater-peer-key";

export interface RunningWorker {
  db: Db;
  mediator: Mediator;
  vms: VmManager;
  checkpoints: Checkpointer;
  recovery: Recovery;
  /** One reconciliation pass now (findings per host). */
  reconcile(): Promise<Map<string, ReconcileFindingInput[]>>;
  mediatorAddress: string;
  stop(): Promise<void>;
}

/**
 * Starts the worker's parts in order: Mediator, VM Manager (hosts, then the live VMs and their
 * theaters), the applications' actors, then DBOS (which resumes interrupted workflows and
 * dequeues newly accepted operations).
 */
export interface WorkerHooks {
  /** Tests only: wraps the real effects (e.g. to hold a step while a real failure is arranged). */
  wrapEffects?: (effects: OperationEffects) => OperationEffects;
}

/**
 * With `cluster` (main.ts; the caller holds the leader lease) the worker also advertises every
 * worker's Mediator to its theaters and, after DBOS.launch, takes over what a dead leader left.
 */
export async function startWorker(env: WorkerEnv, hooks: WorkerHooks = {}, cluster?: ClusterMembership): Promise<RunningWorker> {
  const log = createLogger("worker");
  const db = createDb(env.DATABASE_URL);
  const mediator = new Mediator({
    host: env.MALLEO_MEDIATOR_HOST,
    port: env.MALLEO_MEDIATOR_PORT,
    log: createLogger("mediator"),
    // Kept in Postgres: every worker, and every restart, hands theaters the same peer key.
    peerKey: await clusterKeyGet(db, THEATER_PEER_KEY),
    // Secrets are one-time: each registration gets a fresh one, kept (as a digest) in Postgres.
    secretStore: { save: (vmId, secrets) => theaterSecretsSave(db, vmId, secrets), load: (vmId) => theaterSecretsLoad(db, vmId) },
    // Sent to each registering theater: the Mediators it fails over to (workers started later too).
    mediatorAddresses: cluster ? () => cluster.mediatorAddresses() : undefined,
    // A hung guest or a lost host never closes its connection: the heartbeat notices it.
    heartbeatMs: env.MALLEO_THEATER_HEARTBEAT_MS || undefined,
    heartbeatTimeoutMs: env.MALLEO_THEATER_HEARTBEAT_TIMEOUT_MS,
    bundleLoadGraceMs: env.MALLEO_BUNDLE_LOAD_GRACE_MS,
    requestTimeoutMs: env.MALLEO_MEDIATOR_REQUEST_TIMEOUT_MS,
    // A theater without a bundle application's behaviors gets its bundle from Postgres through us.
    bundleFor: (applicationId, vmId) => bundleOfApplication(db, applicationId, vmId),
  });
  const uriPolicy = hostUriPolicyFromEnv(
    { MALLEO_MODE: env.MALLEO_MODE, MALLEO_SIMULATED_HOSTS: env.MALLEO_SIMULATED_HOSTS },
    () => env.dataDir,
  );
  const vms = new VmManager(db, mediator, {
    dataDir: env.dataDir,
    uriPolicy,
    theaterTimeoutMs: env.MALLEO_THEATER_TIMEOUT_MS,
    // Theaters can only find a restarted worker again at a fixed Mediator address.
    detachTheaters: env.MALLEO_MEDIATOR_PORT !== 0,
    // Hosts registered from the UI or API are connected at once (LISTEN), not at the next pass.
    databaseUrl: env.DATABASE_URL,
    guests: new GuestTheaters(mediator, {
      guest: {
        imageDir: path.resolve(env.MALLEO_GUEST_DIR),
        bridge: env.MALLEO_BRIDGE,
        bridgeCidr: env.MALLEO_BRIDGE_CIDR,
        accelerator: env.MALLEO_GUEST_ACCELERATOR,
      },
      mediatorAddress: (): string => vms.mediatorAddress,
      theaterTimeoutMs: env.MALLEO_THEATER_TIMEOUT_MS,
      dataDir: env.dataDir,
      log,
    }),
    mediatorAddresses: cluster ? () => cluster.mediatorAddresses() : undefined,
    log,
  });
  await vms.prepareAdoption();
  // Holds and resumes per VM: operations, checkpoints and restores never interleave them.
  const control = new ActorControl();
  /** The chaos suite's theater deaths: the process is killed as a crash would, nothing told. */
  const killTheaterProcess = (vmId: string): void => {
    const pid = vms.theaterPid(vmId);
    log({ event: "fault injected: theater SIGKILL", vmId, pid });
    if (pid !== undefined) process.kill(pid, "SIGKILL");
  };
  const checkpoints = new Checkpointer(db, mediator, control, {
    defaultIntervalMs: env.MALLEO_CHECKPOINT_MS,
    readyTimeoutMs: env.MALLEO_READY_TIMEOUT_MS,
    log: createLogger("checkpoints"),
    killTheaterAt: env.MALLEO_CHAOS_KILL_THEATER_AT?.startsWith("checkpoint:") ? env.MALLEO_CHAOS_KILL_THEATER_AT : undefined,
    killTheater: killTheaterProcess,
  });
  const apps = new ApplicationRunner(db, mediator, log, checkpoints);
  apps.watchProgress();
  const { address } = await mediator.start();
  vms.mediatorAddress = address;
  await cluster?.lead(address);

  await registerConfiguredHosts(db, parseConfiguredHosts(env.MALLEO_HOSTS, uriPolicy));
  await vms.connectHosts();
  await vms.restoreVms();
  await apps.start();
  const recovery = new Recovery(db, mediator, vms, checkpoints, apps, {
    graceMs: env.MALLEO_THEATER_LOST_GRACE_MS,
    recover: env.MALLEO_RECOVERY === "restore",
    log: createLogger("recovery"),
  });
  await recovery.start();
  checkpoints.start();
  const cpuSampler = new CpuSampler(db, () => readCpuTimes(vms.connections(), (id) => vms.theaterPid(id)), {
    intervalMs: env.MALLEO_CPU_SAMPLE_MS,
    log,
  });
  const communicationSampler = new CommunicationSampler(db, (vmIds) => mediator.messageCounts(vmIds), {
    intervalMs: env.MALLEO_COMM_SAMPLE_MS,
    log,
  });
  const reconciler = new Reconciler(db, vms, {
    intervalMs: env.MALLEO_RECONCILE_MS,
    log,
    theaterMissing: { has: (vmId) => mediator.theater(vmId) !== undefined, report: (vmId) => void recovery.theaterLost(vmId) },
  });
  await reconciler.runOnce().catch((e: Error) => log({ event: "reconcile failed", error: e.message }));
  cpuSampler.start();
  communicationSampler.start();
  reconciler.start();

  const effects: OperationEffects = {
    db,
    awaitActorsReady: (vmId, uans, timeoutMs) => control.withVms([vmId], () => mediator.awaitReady(vmId, uans, timeoutMs)),
    provisionVm: (vm) => vms.provisionVm(vm),
    destroyVm: (vmId) => vms.destroyVm(vmId),
    migrateActors: (uans, from, to, options) =>
      control.withVms([from, to], () => mediator.migrate(uans, from, to, { resumeOnArrival: options?.live === true }), {
        shared: true,
      }),
    checkpointApplication: (applicationId, options) => checkpoints.takeForOperation(applicationId, options),
    restartApplication: (applicationId, from) =>
      recovery.restartApplication(
        applicationId,
        from.sequence,
        from.migrateFrom === undefined ? undefined : bundleStateMigration(db, applicationId, from.migrateFrom),
        from.onRebooted,
      ),
    applicationActivity: (vmIds, fromMs, toMs) => mediator.activity(vmIds, fromMs, toMs),
    theaterLost: (vmId) => recovery.confirmLost(vmId),
    resumeActors: (vmId, uans) => control.withVms([vmId], () => mediator.resume(vmId, uans)),
    locateActors: async (uans) => {
      const wanted = new Set(uans);
      return new Map(
        mediator
          .listActors()
          .filter((a) => wanted.has(a.uan))
          .map((a) => [a.uan, a.vmId]),
      );
    },
    startApplication: (applicationId) => apps.startOne(applicationId),
    stopApplication: (applicationId) => apps.discard(applicationId),
    log: createLogger("workflow"),
    killTheater: (vmId) => killTheaterProcess(vmId),
  };
  installOperationEffects(hooks.wrapEffects ? hooks.wrapEffects(effects) : effects, {
    readyMs: env.MALLEO_READY_TIMEOUT_MS,
    readyDecisionMs: env.MALLEO_READY_DECISION_TIMEOUT_MS,
    readyRecheckMs: env.MALLEO_READY_RECHECK_MS,
    cleanupRetryMs: env.MALLEO_CLEANUP_RETRY_MS,
    cleanupRetryMaxMs: env.MALLEO_CLEANUP_RETRY_MAX_MS,
    liveChunkActors: env.MALLEO_LIVE_CHUNK_ACTORS,
    liveMovesInFlight: env.MALLEO_LIVE_MOVES_IN_FLIGHT,
    crashAt: env.MALLEO_CHAOS_CRASH_AT,
    killTheaterAt: env.MALLEO_CHAOS_KILL_THEATER_AT,
  });
  const sys = new URL(env.systemDatabaseUrl);
  await ensureDatabase(databaseUrl(env.systemDatabaseUrl, "postgres"), sys.pathname.slice(1));
  DBOS.setConfig({
    name: "malleo",
    systemDatabaseUrl: env.systemDatabaseUrl,
    executorID: env.MALLEO_EXECUTOR_ID,
    // DBOS recovers only workflows of the same application version, which by default hashes
    // the workflow code: a worker restarted after an upgrade would strand in-flight operations.
    // Our steps are idempotent across versions, so the version is the release's, set here.
    applicationVersion: env.MALLEO_APP_VERSION,
    logLevel: "warn",
  });
  await DBOS.launch();
  await cluster?.takeOver();
  // Accepted operations arrive on DBOS's queue (enqueued by the web server with DBOS's client).
  const operationQueue = await startOperationQueue(db, { pollMs: env.MALLEO_POLL_MS, sweepMs: env.MALLEO_RECONCILE_MS, log });
  // "Test connection" of a URI before it is registered (hosts.test): only workers talk to libvirt.
  const stopHostProbes = serveHostProbes(db, {
    databaseUrl: env.DATABASE_URL,
    executorId: env.MALLEO_EXECUTOR_ID,
    uriPolicy,
    log,
  });
  const admin = env.MALLEO_WORKER_ADMIN_PORT
    ? await startAdminServer(
        { db, mediator, vms, log, chaosFaults: env.MALLEO_CHAOS_FAULTS === "1" },
        env.MALLEO_WORKER_ADMIN_PORT,
      )
    : undefined;
  log({ event: "worker ready", mediator: address, executorId: env.MALLEO_EXECUTOR_ID });

  return {
    db,
    mediator,
    vms,
    checkpoints,
    recovery,
    reconcile: () => reconciler.runOnce(),
    mediatorAddress: address,
    async stop() {
      await operationQueue.stop();
      await stopHostProbes();
      admin?.close();
      checkpoints.stop();
      recovery.stop();
      // A graceful stop checkpoints every application, so a restart loses no progress.
      for (const app of await applicationList(db).catch(() => [])) {
        const outcome = await checkpoints.take(app.id, "stop").catch((e: Error) => ({ skipped: e.message }) as CheckpointOutcome);
        if ("written" in outcome) await outcome.written.catch(() => undefined);
      }
      await checkpoints.flush();
      await apps.stop();
      await Promise.all([cpuSampler.stop(), communicationSampler.stop(), reconciler.stop()]);
      await DBOS.shutdown().catch((e: Error) => log({ event: "dbos shutdown failed", error: e.message }));
      // A standby takes over once the lease is released: it adopts the theaters, so they keep running.
      // (Unknown, with Postgres unreachable: the theaters are kept — the next leader adopts them.)
      const handOver = cluster
        ? await cluster.standbys().then(
            (s) => s.length > 0,
            () => true,
          )
        : false;
      if (handOver) log({ event: "handing over to a standby: theaters keep running" });
      await vms.shutdown({ stopTheaters: !handOver });
      await mediator.stop();
      await cluster?.leave();
      await db.$disconnect();
      log({ event: "worker stopped" });
    },
  };
}
