// The chaos suite's theater, VM, host and whole-stack deaths (scripts/chaos.ts runs them beside its
// worker kills): heat runs with a checkpoint every CHECKPOINT_MS while a theater process is
// SIGKILLed at a seeded moment — idle, while a checkpoint holds the actors or writes its cut, at
// the source or the target inside a live or a barrier Transfer — or a host becomes unreachable,
// or the whole stack is cut off (worker and theaters killed) or stopped and started again with
// Postgres. After each: the application runs again and finishes, no actor is lost or exists
// twice, it came back from the newest checkpoint there was when it died (so at most one
// checkpoint interval of progress is lost; none after a graceful stop), an operation it met
// rolled back or completed, and heat's grid is bit-identical to the sequential kernel's.
import type { ChildProcess } from "node:child_process";
import { readFileSync, renameSync } from "node:fs";
import path from "node:path";
import type { TransferMode } from "@malleo/core";
import type { HeatConfig } from "@malleo/examples";
import { submitMerge, submitSplit } from "@malleo/workflows";
import { waitFor } from "@malleo/testing";
import { checkWorld, expectedHeat, random, scenarioWorkspace, seedHeat } from "./chaos-lib";
import { getJson, processExited, spawnWorkerProcess, stopWorkerProcess, sweepTheaters } from "./worker-process";

/** Heat here runs long enough for a death in the middle of it, with a checkpoint every half second. */
export const THEATER_HEAT: HeatConfig = { width: 48, height: 32, actors: 8, maxIterations: 2500, iterationDelayMs: 5 };
export const CHECKPOINT_MS = 500;

export type TheaterScenario =
  | { at: "idle"; delayMs: number; victim: number }
  | { at: "checkpoint"; phase: "held" | "write"; victim: number }
  | {
      at: "transfer";
      kind: "split" | "merge";
      mode: TransferMode;
      move: number;
      phase: "unrecorded" | "recorded";
      side: "source" | "target";
    }
  | { at: "host"; victim: number }
  | { at: "power-cut"; delayMs: number }
  /** `npm start` stopped (Ctrl-C: a graceful stop), Postgres restarted, started again. */
  | { at: "stack-restart" };

export function theaterScenarioKey(s: TheaterScenario): string {
  switch (s.at) {
    case "idle":
      return `theater:idle:${s.delayMs}ms:vm${s.victim}`;
    case "checkpoint":
      return `theater:checkpoint:${s.phase}:vm${s.victim}`;
    case "transfer":
      return `theater:${s.kind}:${s.mode}:move${s.move}:${s.phase}:${s.side}`;
    case "host":
      return `theater:host-lost:vm${s.victim}`;
    case "power-cut":
      return `theater:power-cut:${s.delayMs}ms`;
    case "stack-restart":
      return "theater:stack-restart";
  }
}

export function describeTheaterScenario(s: TheaterScenario): string {
  switch (s.at) {
    case "idle":
      return `theater of VM ${s.victim} killed while idle (${s.delayMs} ms in)`;
    case "checkpoint":
      return `theater of VM ${s.victim} killed while a checkpoint ${s.phase === "held" ? "held the actors" : "wrote its cut"}`;
    case "transfer":
      return `${s.kind}, ${s.mode}: ${s.side} theater killed after move ${s.move} (${s.phase})`;
    case "host":
      return `host of VM ${s.victim} unreachable, its theater gone`;
    case "power-cut":
      return `worker and every theater killed (${s.delayMs} ms in), started again`;
    case "stack-restart":
      return "whole stack stopped (graceful), Postgres restarted, started again";
  }
}

/** At least 20 seeded scenarios: where and when each death falls is drawn from the seed. */
export function theaterScenarios(seed: number): TheaterScenario[] {
  const next = random(seed ^ 0x7ea7e4);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
  const out = new Map<string, TheaterScenario>();
  const add = (s: TheaterScenario) => out.set(theaterScenarioKey(s), s);
  const sized = (n: number, make: () => TheaterScenario) => {
    const target = out.size + n;
    for (let tries = 0; out.size < target && tries < 100; tries++) add(make());
  };
  sized(4, () => ({ at: "idle", delayMs: 50 * Math.floor(4 + next() * 30), victim: Math.floor(next() * 2) }));
  for (const phase of ["held", "write"] as const) for (const victim of [0, 1]) add({ at: "checkpoint", phase, victim });
  // One actor a move in a live Transfer (8 moves); one move per source and target with a barrier (2).
  for (const side of ["source", "target"] as const)
    sized(3, () => ({
      at: "transfer",
      kind: pick(["split", "merge"] as const),
      mode: "live",
      move: 1 + Math.floor(next() * THEATER_HEAT.actors),
      phase: pick(["unrecorded", "recorded"] as const),
      side,
    }));
  for (const side of ["source", "target"] as const)
    for (const kind of ["split", "merge"] as const)
      add({
        at: "transfer",
        kind,
        mode: "barrier",
        move: 1 + Math.floor(next() * 2),
        phase: pick(["unrecorded", "recorded"] as const),
        side,
      });
  for (const victim of [0, 1]) add({ at: "host", victim });
  add({ at: "power-cut", delayMs: 50 * Math.floor(4 + next() * 30) });
  add({ at: "stack-restart" });
  return [...out.values()];
}

type CheckpointRef = { sequence: number; iteration: number; takenAt?: string } | null;

export interface TheaterOutcome {
  status: string;
  actorsLost: number;
  orphans: number;
  problems: string[];
  /** How far behind the moment of death the application came back (ms of progress; the interval is CHECKPOINT_MS). */
  lostMs: number | null;
}

/** When the worker injected its theater kill (its log line), epoch ms. */
function injectedKillAt(logFile: string): number | undefined {
  for (const line of readFileSync(logFile, "utf8").split("\n")) {
    if (!line.includes('"fault injected: theater SIGKILL"')) continue;
    try {
      const at = Date.parse((JSON.parse(line) as { time: string }).time);
      if (Number.isFinite(at)) return at;
    } catch {
      // a partly written line
    }
  }
  return undefined;
}

function theaterPid(dataDir: string, vmId: string): number {
  return (JSON.parse(readFileSync(path.join(dataDir, "theaters", `${vmId}.json`), "utf8")) as { pid: number }).pid;
}

export async function runTheaterScenario(
  baseUrl: string,
  s: TheaterScenario,
  index: number,
  opts: {
    workDir: string;
    ports: { mediator: number; admin: number };
    expectedDigest: string;
    restartPostgres: () => Promise<void>;
  },
): Promise<TheaterOutcome> {
  const { dataDir, url, db } = await scenarioWorkspace(baseUrl, theaterScenarioKey(s), index, opts.workDir);
  const problems: string[] = [];
  let worker: ChildProcess | undefined;
  let status = "no operation";
  let lostMs: number | null = null;
  try {
    const layout = s.at === "transfer" && s.kind === "split" ? "one" : "halves";
    const vmIds = await seedHeat(db, dataDir, THEATER_HEAT, layout);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DATABASE_URL: url,
      MALLEO_DATA_DIR: dataDir,
      MALLEO_MEDIATOR_PORT: String(opts.ports.mediator),
      MALLEO_EXECUTOR_ID: "chaos-worker",
      MALLEO_WORKER_ADMIN_PORT: String(opts.ports.admin),
      MALLEO_POLL_MS: "200",
      MALLEO_LIVE_CHUNK_ACTORS: "1",
      MALLEO_LIVE_MOVES_IN_FLIGHT: "2",
      MALLEO_CHECKPOINT_MS: String(CHECKPOINT_MS),
      MALLEO_THEATER_LOST_GRACE_MS: "500",
      MALLEO_THEATER_HEARTBEAT_MS: "250",
      MALLEO_THEATER_HEARTBEAT_TIMEOUT_MS: "1500",
      MALLEO_CHAOS_FAULTS: "1",
      ...(s.at === "checkpoint" ? { MALLEO_CHAOS_KILL_THEATER_AT: `checkpoint:${s.phase}:${s.victim}` } : {}),
      ...(s.at === "transfer" ? { MALLEO_CHAOS_KILL_THEATER_AT: `transfer:move${s.move}:${s.phase}:${s.side}` } : {}),
    };
    const logFile = path.join(dataDir, "logs/worker.log");
    const adminPort = opts.ports.admin;
    const startWorker = async () => {
      worker = spawnWorkerProcess(env, logFile);
      await waitFor("the worker", () => getJson(adminPort, "/healthz"), {
        timeoutMs: 120_000,
        intervalMs: 150,
        ignoreErrors: true,
      });
    };
    await startWorker();
    const app = () => db.application.findUniqueOrThrow({ where: { id: "heat" } });
    await waitFor("heat to start", async () => ((await app()).iteration > 0 ? true : undefined), {
      timeoutMs: 30_000,
      intervalMs: 100,
      ignoreErrors: true,
    });
    // Death comes with a checkpoint to come back to (one interval in).
    await waitFor("a first checkpoint", async () => ((await db.checkpoint.count()) > 0 ? true : undefined), {
      timeoutMs: 30_000,
      intervalMs: 100,
      ignoreErrors: true,
    });
    const audits = (procedure: string) => db.auditEvent.findMany({ where: { procedure }, orderBy: { id: "asc" } });
    const firstAudit = (procedure: string, timeoutMs = 90_000) =>
      waitFor(`a ${procedure} record`, async () => (await audits(procedure))[0], {
        timeoutMs,
        intervalMs: 100,
        ignoreErrors: true,
      });

    let operationId: string | undefined;
    let killedAt: number | undefined;
    if (s.at === "idle" || s.at === "power-cut") await new Promise((r) => setTimeout(r, s.delayMs));
    if (s.at === "idle") {
      killedAt = Date.now();
      process.kill(theaterPid(dataDir, vmIds[s.victim]!), "SIGKILL");
    }
    if (s.at === "host") {
      killedAt = Date.now();
      const vm = await db.vm.findUniqueOrThrow({ where: { id: vmIds[s.victim]! } });
      const file = path.join(dataDir, "hosts", `${vm.hostId}.xml`);
      renameSync(file, `${file}.away`);
      const res = await fetch(`http://127.0.0.1:${adminPort}/chaos/hosts/${vm.hostId}/lose`, { method: "POST" });
      if (!res.ok) problems.push(`host ${vm.hostId} not cut off: HTTP ${res.status}`);
    }
    if (s.at === "transfer") {
      const op =
        s.kind === "split"
          ? await submitSplit(db, { vmId: vmIds[0]!, count: 2, targetHostIds: ["pm-2", "pm-3"], transfer: s.mode }, "chaos")
          : await submitMerge(db, { vmIds, targetHostId: "pm-1", transfer: s.mode }, "chaos");
      operationId = op.id;
    }

    if (s.at === "power-cut" || s.at === "stack-restart") {
      const before = await db.checkpoint.findFirst({ orderBy: { sequence: "desc" } });
      if (s.at === "power-cut") {
        worker!.kill("SIGKILL");
        await processExited(worker!);
        sweepTheaters(dataDir);
      } else {
        await stopWorkerProcess(worker);
        if (worker!.signalCode === "SIGKILL") problems.push("the worker did not stop gracefully");
        await opts.restartPostgres();
      }
      const newest = await db.checkpoint.findFirst({ orderBy: { sequence: "desc" } });
      if (s.at === "stack-restart" && newest?.reason !== "stop")
        problems.push(`no checkpoint at the graceful stop (newest: ${newest?.reason})`);
      const stoppedAt = Date.now();
      await startWorker();
      const restored = await firstAudit("checkpoint.restored");
      const from = restored.input as { sequence: number; takenAt: string };
      if (!newest || from.sequence !== newest.sequence)
        problems.push(
          `restored from checkpoint #${from.sequence}, not the newest #${newest?.sequence} (before: #${before?.sequence})`,
        );
      lostMs = s.at === "stack-restart" ? 0 : Math.max(0, stoppedAt - Date.parse(from.takenAt));
    }

    if (operationId) {
      const done = await waitFor(
        "the operation to end",
        async () => {
          const o = await db.operation.findUniqueOrThrow({ where: { id: operationId } });
          return ["succeeded", "rolled_back", "failed"].includes(o.status) ? o : undefined;
        },
        { timeoutMs: 120_000, intervalMs: 150, ignoreErrors: true },
      );
      status = done.status;
      if (done.status === "failed") problems.push(`operation failed: ${done.error}`);
      const checkpointStep = await db.operationStep.findFirst({
        where: { operationId, name: "checkpoint", status: "succeeded" },
      });
      if (!checkpointStep) problems.push("the operation took no checkpoint before its Transfer");
    }
    if (s.at !== "power-cut" && s.at !== "stack-restart") {
      // A theater died. One that held actors is recorded lost with the newest checkpoint, and the
      // application comes back from it (or a later one). (A source that died after its last
      // actor moved out, and was cleaned up within the grace period, lost nothing.)
      // An injected kill (at a checkpoint's hold or write) may come a checkpoint or two after the
      // first one: wait for the worker's line saying it fired.
      killedAt ??= await waitFor("the injected theater kill", async () => injectedKillAt(logFile), {
        timeoutMs: 30_000,
        intervalMs: 100,
      }).catch(() => undefined);
      if (killedAt === undefined) problems.push("no theater was killed");
      const lost = (await audits("theater.lost"))[0] ?? (operationId ? undefined : await firstAudit("theater.lost"));
      const lostActors = (lost?.input as { actors?: number } | undefined)?.actors ?? 0;
      if (lost && lostActors > 0) {
        const recovered = await firstAudit("application.recovered");
        const atLoss = (lost.input as { checkpoint: CheckpointRef }).checkpoint;
        const from = (recovered.input as { checkpoint: CheckpointRef }).checkpoint;
        if (!from) problems.push("recovered from the beginning, not from a checkpoint");
        else if (atLoss && from.sequence < atLoss.sequence)
          problems.push(`recovered from checkpoint #${from.sequence}, older than #${atLoss.sequence} there was at the loss`);
        // (The checkpoint row itself may be pruned by now: its restore record says when it was taken.)
        const restored = (await audits("checkpoint.restored")).find(
          (r) => (r.input as { sequence?: number }).sequence === from?.sequence,
        );
        const takenAt = (restored?.input as { takenAt?: string } | undefined)?.takenAt;
        if (takenAt && killedAt !== undefined) lostMs = Math.max(0, killedAt - Date.parse(takenAt));
      }
    }
    await waitFor(
      "heat to run again and finish",
      async () => {
        const a = await app();
        return a.status === "running" && a.iteration >= THEATER_HEAT.maxIterations! ? true : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 150, ignoreErrors: true },
    );
    const world = await checkWorld(db, adminPort, expectedHeat(THEATER_HEAT, opts.expectedDigest));
    problems.push(...world.problems);
    return { status, actorsLost: world.actorsLost, orphans: world.orphans, problems, lostMs };
  } catch (e) {
    problems.push((e as Error).message);
    return { status: "error", actorsLost: 0, orphans: 0, problems, lostMs };
  } finally {
    await stopWorkerProcess(worker);
    sweepTheaters(dataDir);
    await db.$disconnect();
  }
}
