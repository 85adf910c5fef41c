import { DBOS } from "@dbos-inc/dbos-sdk";
import { AppError, type OperationPlan, type StepName } from "@malleo/core";
import {
  actorListByVms,
  actorMove,
  operationGet,
  operationReleaseLocks,
  operationTransition,
  publishEvent,
  stepFinish,
  stepStart,
  vmGet,
  vmSetState,
} from "@malleo/db";
import type { OperationEffects, WorkflowTimeouts } from "./effects";
import { checkPlanCapacity, reserveTargets } from "./submit";

let effects: OperationEffects | undefined;
let timeouts: WorkflowTimeouts = {
  readyMs: 30_000,
  readyDecisionMs: 15 * 60_000,
  cleanupRetryMs: 1_000,
  cleanupRetryMaxMs: 30_000,
};

/** The worker installs its effects once, before DBOS.launch(). */
export function installOperationEffects(e: OperationEffects, t: Partial<WorkflowTimeouts> = {}): void {
  effects = e;
  timeouts = { ...timeouts, ...t };
}

function fx(): OperationEffects {
  if (!effects) throw new Error("operation effects not installed: call installOperationEffects before DBOS.launch");
  return effects;
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Postgres going away for a moment (restart, failover, dropped connection) is retried, not
 * failed. Only errors raised by the database client count: a theater's dropped connection
 * during a migration is a real failure of that step, not a reason to retry it.
 */
export function isTransientDatabaseError(e: unknown): boolean {
  if (!(e instanceof Error) || AppError.is(e)) return false;
  const code = String((e as { code?: unknown }).code ?? "");
  const fromDatabaseClient = /^Prisma|DriverAdapterError/.test(e.name) || /^(08|57P0)/.test(code);
  if (!fromDatabaseClient && !/Can't reach database server/.test(e.message)) return false;
  return /ECONNREFUSED|ECONNRESET|EPIPE|Connection terminated|terminating connection|Can't reach database|database system is (starting up|shutting down)|P1001|P1017|^08|^57P0|connection.*(closed|ended)/i.test(
    `${code} ${e.message}`,
  );
}

/** Every step is idempotent, so a transient database error retries it with backoff (~1 minute in all). */
const RETRY_TRANSIENT = {
  retriesAllowed: true,
  maxAttempts: 12,
  intervalSeconds: 0.5,
  backoffRate: 1.5,
  shouldRetry: isTransientDatabaseError,
} as const;

function maybeCrash(operationId: string, name: string, phase: "before" | "after", attempt: number): void {
  if (attempt !== 1 || timeouts.crashAt !== `${name}:${phase}`) return;
  fx().log({ operationId, step: name, event: "fault injected: SIGKILL", phase });
  process.kill(process.pid, "SIGKILL");
}

/**
 * Runs `body` as one durable DBOS step and records it in operation_steps (start, end, attempt,
 * outcome). A step interrupted by a crash is run again on recovery as a new attempt; a finished
 * one returns its recorded result without running. Bodies are idempotent for that reason.
 */
/** The error recorded on a step attempt a worker crash interrupted (closed when the step runs again). */
export const STEP_INTERRUPTED = "interrupted by a worker restart";

export async function recordedStep<T>(operationId: string, name: StepName | "rollback", body: () => Promise<T>): Promise<T> {
  return DBOS.runStep(
    async () => {
      const { db } = fx();
      // An earlier attempt still `running` was cut short by a crash (this one is its re-run): close it.
      await db.operationStep.updateMany({
        where: { operationId, name, status: "running" },
        data: { status: "failed", finishedAt: new Date(), error: STEP_INTERRUPTED },
      });
      const attempt = (await db.operationStep.count({ where: { operationId, name } })) + 1;
      const row = await stepStart(db, operationId, name, attempt);
      await publishEvent(db, { type: "operation", operationId });
      fx().log({ operationId, step: name, attempt, event: "step started" });
      maybeCrash(operationId, name, "before", attempt);
      try {
        await fx().beforeStep?.(operationId, name);
        const result = await body();
        maybeCrash(operationId, name, "after", attempt);
        await stepFinish(db, row.id, "succeeded", result === undefined ? {} : { detail: result as never });
        fx().log({ operationId, step: name, attempt, event: "step succeeded" });
        return result;
      } catch (e) {
        await stepFinish(db, row.id, "failed", { error: errorText(e) });
        fx().log({ operationId, step: name, attempt, event: "step failed", error: errorText(e) });
        throw e;
      } finally {
        await publishEvent(db, { type: "operation", operationId });
      }
    },
    { name, ...RETRY_TRANSIENT },
  );
}

/** A recorded read of the operator's cancel request; throws CANCELLED when there is one. */
async function throwIfCancelled(operationId: string, before: string): Promise<void> {
  const cancel = await DBOS.runStep(
    async () => {
      const op = await fx().db.operation.findUnique({
        where: { id: operationId },
        select: { cancelRequestedAt: true, cancelledBy: true },
      });
      return op?.cancelRequestedAt ? { by: op.cancelledBy ?? "an operator" } : null;
    },
    { name: `cancel-check:${before}`, ...RETRY_TRANSIENT },
  );
  if (cancel) throw new AppError("CANCELLED", `cancelled by ${cancel.by} before ${before}`, { by: cancel.by });
}

async function setWaiting(operationId: string, reason: string | null, extra: { readyDecision?: null } = {}): Promise<void> {
  await fx().db.operation.update({ where: { id: operationId }, data: { waitingReason: reason, ...extra } });
  await publishEvent(fx().db, { type: "operation", operationId });
}

/**
 * The ready barrier. When actors miss the deadline the operation waits, visibly naming them,
 * for the operator to extend the wait (only the stragglers are asked again) or abort.
 */
async function awaitSourcesReady(operationId: string, plan: OperationPlan): Promise<{ ready: number; extensions: number }> {
  const { db } = fx();
  let pending = new Map<string, string[]>();
  for (const s of plan.sources)
    pending.set(
      s.id,
      (await actorListByVms(db, [s.id])).map((a) => a.uan),
    );
  let ready = 0;
  for (let extensions = 0; ; extensions++) {
    const results = await Promise.all(
      [...pending].map(async ([vmId, uans]) => ({ vmId, ...(await fx().awaitActorsReady(vmId, uans, timeouts.readyMs)) })),
    );
    ready += results.reduce((n, r) => n + r.ready.length, 0);
    pending = new Map(results.filter((r) => r.notReady.length > 0).map((r) => [r.vmId, r.notReady]));
    const stragglers = [...pending.values()].flat();
    if (stragglers.length === 0) {
      if (extensions > 0) await setWaiting(operationId, null);
      return { ready, extensions };
    }
    const names = stragglers.slice(0, 5).join(", ") + (stragglers.length > 5 ? ` and ${stragglers.length - 5} more` : "");
    await setWaiting(
      operationId,
      `ready barrier timed out after ${timeouts.readyMs} ms; not ready: ${names}; extend the wait or abort`,
      {
        readyDecision: null,
      },
    );
    fx().log({ operationId, event: "ready barrier timed out", notReady: stragglers });
    const decision = await awaitReadyDecision(operationId);
    if (decision !== "extend") {
      await setWaiting(operationId, null);
      throw new AppError(
        decision === "cancel" ? "CANCELLED" : "READY_TIMEOUT",
        `${decision === "timeout" ? "no operator answered in time" : decision === "cancel" ? "cancelled" : "aborted by the operator"} while ${stragglers.length} actor(s) were not ready: ${names}`,
        { notReady: stragglers },
      );
    }
    await setWaiting(operationId, null, { readyDecision: null });
  }
}

async function awaitReadyDecision(operationId: string): Promise<"extend" | "abort" | "cancel" | "timeout"> {
  const deadline = Date.now() + timeouts.readyDecisionMs;
  while (Date.now() < deadline) {
    const op = await fx().db.operation.findUnique({
      where: { id: operationId },
      select: { readyDecision: true, cancelRequestedAt: true },
    });
    if (op?.cancelRequestedAt) return "cancel";
    if (op?.readyDecision === "extend" || op?.readyDecision === "abort") return op.readyDecision;
    await sleep(250);
  }
  return "timeout";
}

type Compensation = { what: string; undo: () => Promise<void> };
type Move = { from: string; to: string; uans: string[] };

/** Groups the planned actors of each target by the source VM that hosts them. */
async function transferPlan(plan: OperationPlan): Promise<Move[]> {
  const actors = await actorListByVms(
    fx().db,
    plan.sources.map((s) => s.id),
  );
  const where = new Map(actors.map((a) => [a.uan, a.vmId]));
  const moves: Move[] = [];
  for (const target of plan.targets) {
    for (const source of plan.sources) {
      const uans = target.actors.filter((u) => where.get(u) === source.id);
      if (uans.length > 0) moves.push({ from: source.id, to: target.id, uans });
    }
  }
  return moves;
}

/**
 * Moves the actors of a move that are still at `from` (a resumed step finds some already
 * moved) and records all of them at `to`. An actor found nowhere is a loss: refuse loudly.
 */
async function moveActors(uans: string[], from: string, to: string): Promise<{ moved: number; bytes: number }> {
  const where = await fx().locateActors(uans);
  const missing = uans.filter((u) => !where.has(u));
  if (missing.length > 0) {
    throw new AppError(
      "TRANSFER_FAILED",
      `${missing.length} actor(s) are not hosted by any theater: ${missing.slice(0, 5).join(", ")}`,
      {
        missing,
      },
    );
  }
  const pending = uans.filter((u) => where.get(u) === from);
  const r = pending.length > 0 ? await fx().migrateActors(pending, from, to) : { moved: 0, bytes: 0 };
  await actorMove(fx().db, uans, to);
  return r;
}

async function splitOrMerge(operationId: string): Promise<string> {
  const { db } = fx();
  const op = await DBOS.runStep(() => operationGet(db, operationId), { name: "load", ...RETRY_TRANSIENT });
  if (!op) throw new AppError("NOT_FOUND", `operation ${operationId} does not exist`);
  const plan = op.plan as unknown as OperationPlan;
  await DBOS.runStep(
    async () => {
      await operationTransition(db, operationId, ["queued"], "running");
      await publishEvent(db, { type: "operation", operationId });
    },
    { name: "start", ...RETRY_TRANSIENT },
  );

  const compensations: Compensation[] = [];
  try {
    await throwIfCancelled(operationId, "validate");
    await recordedStep(operationId, "validate", async () => {
      // Capacity may have changed since the request was accepted: check again before acting.
      await checkPlanCapacity(db, plan);
      return { targets: plan.targets.length, sources: plan.sources.length };
    });

    await throwIfCancelled(operationId, "ready");
    compensations.push({
      what: "resume actors on the source VMs",
      undo: async () => {
        for (const s of plan.sources) {
          const actors = await actorListByVms(db, [s.id]);
          if (actors.length > 0)
            await fx().resumeActors(
              s.id,
              actors.map((a) => a.uan),
            );
        }
      },
    });
    await recordedStep(operationId, "ready", () => awaitSourcesReady(operationId, plan));

    await throwIfCancelled(operationId, "provision");
    compensations.push({
      what: "destroy the target VMs",
      undo: async () => {
        for (const t of plan.targets) {
          const row = await vmGet(db, t.id);
          if (!row || row.state === "deleted") continue;
          try {
            await fx().destroyVm(t.id);
          } catch (e) {
            // A target on a host that could not be reached was never confirmed created: its
            // domain cannot exist unless the host went away after creating it, which
            // reconciliation reports. Anything else must not be forgotten: the rollback fails.
            if (!(row.state === "provisioning" && AppError.is(e) && e.details.unreachable === true)) throw e;
            fx().log({ operationId, event: "target never created: host unreachable", vm: t.name, hostId: t.hostId });
          }
          await vmSetState(db, t.id, "deleted");
        }
        await publishEvent(db, { type: "topology" });
      },
    });
    await recordedStep(operationId, "provision", async () => {
      // Creation-time check and reservation: another operation may have taken the room since Validate.
      await reserveTargets(db, operationId, plan);
      await publishEvent(db, { type: "topology" });
      await Promise.all(
        plan.targets.map(async (t) => {
          await fx().provisionVm({
            id: t.id,
            name: t.name,
            hostId: t.hostId,
            applicationId: plan.applicationId,
            vcpus: t.vcpus,
            memoryMiB: t.memoryMiB,
          });
          await vmSetState(db, t.id, "running");
        }),
      );
      await publishEvent(db, { type: "topology" });
      return { created: plan.targets.map((t) => t.name) };
    });

    const moves = await DBOS.runStep(() => transferPlan(plan), { name: "transfer-plan", ...RETRY_TRANSIENT });
    await throwIfCancelled(operationId, "transfer");
    compensations.push({
      what: "move the actors back to their source VMs",
      undo: async () => {
        for (const m of moves) {
          const where = await fx().locateActors(m.uans);
          const back = m.uans.filter((u) => where.get(u) === m.to);
          if (back.length > 0) await fx().migrateActors(back, m.to, m.from);
          await actorMove(db, m.uans, m.from);
        }
        await publishEvent(db, { type: "topology" });
      },
    });
    await recordedStep(operationId, "transfer", async () => {
      let moved = 0;
      let bytes = 0;
      for (const m of moves) {
        const r = await moveActors(m.uans, m.from, m.to);
        await publishEvent(db, { type: "topology" });
        moved += r.moved;
        bytes += r.bytes;
      }
      return { moved, bytes };
    });

    await recordedStep(operationId, "resume", async () => {
      for (const t of plan.targets) await fx().resumeActors(t.id, t.actors);
      return { resumed: plan.targets.reduce((n, t) => n + t.actors.length, 0) };
    });
  } catch (e) {
    return rollBack(operationId, compensations, e);
  }

  // Past Resume the application runs on the targets: clean-up failures are retried, never rolled back.
  await cleanUpSources(operationId, plan);
  await DBOS.runStep(
    async () => {
      await operationReleaseLocks(db, operationId);
      await operationTransition(db, operationId, ["running", "cleanup_pending"], "succeeded", { waitingReason: null });
      await publishEvent(db, { type: "operation", operationId });
      await publishEvent(db, { type: "topology" });
    },
    { name: "finish", ...RETRY_TRANSIENT },
  );
  return "succeeded";
}

/** Destroys the sources, retrying with backoff while a host cannot be reached ("clean-up pending"). */
async function cleanUpSources(operationId: string, plan: OperationPlan): Promise<void> {
  const { db } = fx();
  let delay = timeouts.cleanupRetryMs;
  for (let attempt = 1; ; attempt++) {
    try {
      await recordedStep(operationId, "cleanup", async () => {
        for (const s of plan.sources) {
          const row = await vmGet(db, s.id);
          if (!row || row.state === "deleted") continue;
          await vmSetState(db, s.id, "deleting");
          await fx().destroyVm(s.id);
          await vmSetState(db, s.id, "deleted");
        }
        await publishEvent(db, { type: "topology" });
        return { destroyed: plan.sources.map((s) => s.name) };
      });
      return;
    } catch (e) {
      const reason = `clean-up pending: ${errorText(e)}; attempt ${attempt} failed, retrying in ${Math.round(delay / 1000)} s`;
      await DBOS.runStep(
        async () => {
          if (!(await operationTransition(db, operationId, ["running"], "cleanup_pending", { waitingReason: reason })))
            await db.operation.update({ where: { id: operationId }, data: { waitingReason: reason } });
          await publishEvent(db, { type: "operation", operationId });
        },
        { name: `cleanup-pending-${attempt}`, ...RETRY_TRANSIENT },
      );
      await DBOS.sleep(delay);
      delay = Math.min(delay * 2, timeouts.cleanupRetryMaxMs);
    }
  }
}

async function rollBack(operationId: string, compensations: Compensation[], cause: unknown): Promise<string> {
  const { db } = fx();
  const reason = errorText(cause);
  await DBOS.runStep(
    async () => {
      await operationTransition(db, operationId, ["running", "queued"], "rolling_back", { error: reason });
      await db.operation.update({ where: { id: operationId }, data: { waitingReason: null } });
      await publishEvent(db, { type: "operation", operationId });
    },
    { name: "rolling-back", ...RETRY_TRANSIENT },
  );
  let rollbackError: string | undefined;
  try {
    await recordedStep(operationId, "rollback", async () => {
      const undone: string[] = [];
      for (const c of [...compensations].reverse()) {
        await c.undo();
        undone.push(c.what);
      }
      return { undone };
    });
  } catch (re) {
    rollbackError = errorText(re);
  }
  await DBOS.runStep(
    async () => {
      await operationReleaseLocks(db, operationId);
      await operationTransition(db, operationId, ["rolling_back"], rollbackError ? "failed" : "rolled_back", {
        error: rollbackError ? `${reason}; rollback failed: ${rollbackError}` : reason,
      });
      await publishEvent(db, { type: "operation", operationId });
      await publishEvent(db, { type: "topology" });
    },
    { name: "finish", ...RETRY_TRANSIENT },
  );
  return rollbackError ? "failed" : "rolled_back";
}

export const operationWorkflow = DBOS.registerWorkflow(splitOrMerge, { name: "malleo.operation" });

/** Starts (or attaches to) the workflow of an operation; the operation id is the workflow id, so this is idempotent. */
export async function startOperationWorkflow(operationId: string) {
  return DBOS.startWorkflow(operationWorkflow, { workflowID: operationId })(operationId);
}
