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
  vmCreate,
  vmGet,
  vmSetState,
} from "@malleo/db";
import type { OperationEffects, WorkflowTimeouts } from "./effects";
import { checkPlanCapacity } from "./submit";

let effects: OperationEffects | undefined;
let timeouts: WorkflowTimeouts = { readyMs: 30_000 };

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

/**
 * Runs `body` as one durable DBOS step and records it in operation_steps (start, end, attempt,
 * outcome). A step interrupted by a crash is run again on recovery as a new attempt; a finished
 * one returns its recorded result without running.
 */
async function recordedStep<T>(operationId: string, name: StepName | "rollback", body: () => Promise<T>): Promise<T> {
  return DBOS.runStep(
    async () => {
      const { db } = fx();
      const attempt = (await db.operationStep.count({ where: { operationId, name } })) + 1;
      const row = await stepStart(db, operationId, name, attempt);
      await publishEvent(db, { type: "operation", operationId });
      fx().log({ operationId, step: name, attempt, event: "step started" });
      try {
        const result = await body();
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
    { name },
  );
}

type Compensation = { what: string; undo: () => Promise<void> };

/** Groups the planned actors of each target by the source VM that currently hosts them. */
async function transferPlan(plan: OperationPlan): Promise<{ from: string; to: string; uans: string[] }[]> {
  const actors = await actorListByVms(
    fx().db,
    plan.sources.map((s) => s.id),
  );
  const where = new Map(actors.map((a) => [a.uan, a.vmId]));
  const moves: { from: string; to: string; uans: string[] }[] = [];
  for (const target of plan.targets) {
    for (const source of plan.sources) {
      const uans = target.actors.filter((u) => where.get(u) === source.id);
      if (uans.length > 0) moves.push({ from: source.id, to: target.id, uans });
    }
  }
  return moves;
}

async function splitOrMerge(operationId: string): Promise<string> {
  const { db } = fx();
  const op = await DBOS.runStep(() => operationGet(db, operationId), { name: "load" });
  if (!op) throw new AppError("NOT_FOUND", `operation ${operationId} does not exist`);
  const plan = op.plan as unknown as OperationPlan;
  await DBOS.runStep(
    async () => {
      await operationTransition(db, operationId, ["queued"], "running");
      await publishEvent(db, { type: "operation", operationId });
    },
    { name: "start" },
  );

  const compensations: Compensation[] = [];
  try {
    await recordedStep(operationId, "validate", async () => {
      // Capacity may have changed since the request was accepted: check again before acting.
      await checkPlanCapacity(db, plan);
      return { targets: plan.targets.length, sources: plan.sources.length };
    });

    await recordedStep(operationId, "ready", async () => {
      const results = await Promise.all(
        plan.sources.map(async (s) => {
          const actors = await actorListByVms(db, [s.id]);
          return fx().awaitActorsReady(
            s.id,
            actors.map((a) => a.uan),
            timeouts.readyMs,
          );
        }),
      );
      const notReady = results.flatMap((r) => r.notReady);
      if (notReady.length > 0) {
        throw new AppError(
          "READY_TIMEOUT",
          `${notReady.length} actor(s) did not reach ready in ${timeouts.readyMs} ms: ${notReady.slice(0, 5).join(", ")}`,
          { notReady },
        );
      }
      return { ready: results.reduce((n, r) => n + r.ready.length, 0) };
    });
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
      for (const t of plan.targets) {
        await vmCreate(db, {
          id: t.id,
          name: t.name,
          hostId: t.hostId,
          applicationId: plan.applicationId,
          vcpus: t.vcpus,
          memoryMiB: t.memoryMiB,
          createdBy: operationId,
          lockedBy: operationId,
          state: "provisioning",
        });
      }
      await publishEvent(db, { type: "topology" });
      // Creation-time check: only the targets of this operation may be in the way.
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

    const moves = await DBOS.runStep(() => transferPlan(plan), { name: "transfer-plan" });
    compensations.push({
      what: "move the actors back to their source VMs",
      undo: async () => {
        for (const m of moves) {
          const still = await actorListByVms(db, [m.to]);
          const back = still.map((a) => a.uan).filter((u) => m.uans.includes(u));
          if (back.length === 0) continue;
          await fx().migrateActors(back, m.to, m.from);
          await actorMove(db, back, m.from);
        }
        await publishEvent(db, { type: "topology" });
      },
    });
    await recordedStep(operationId, "transfer", async () => {
      let moved = 0;
      let bytes = 0;
      for (const m of moves) {
        const r = await fx().migrateActors(m.uans, m.from, m.to);
        await actorMove(db, m.uans, m.to);
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
    // Past this point the application runs on the targets: clean-up failures are retried, never rolled back.
    compensations.length = 0;

    await recordedStep(operationId, "cleanup", async () => {
      for (const s of plan.sources) {
        await vmSetState(db, s.id, "deleting");
        await fx().destroyVm(s.id);
        await vmSetState(db, s.id, "deleted");
      }
      await publishEvent(db, { type: "topology" });
      return { destroyed: plan.sources.map((s) => s.name) };
    });

    await DBOS.runStep(
      async () => {
        await operationReleaseLocks(db, operationId);
        await operationTransition(db, operationId, ["running"], "succeeded");
        await publishEvent(db, { type: "operation", operationId });
        await publishEvent(db, { type: "topology" });
      },
      { name: "finish" },
    );
    return "succeeded";
  } catch (e) {
    const reason = errorText(e);
    await DBOS.runStep(
      async () => {
        await operationTransition(db, operationId, ["running", "queued"], "rolling_back", { error: reason });
        await publishEvent(db, { type: "operation", operationId });
      },
      { name: "rolling-back" },
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
      { name: "finish" },
    );
    return rollbackError ? "failed" : "rolled_back";
  }
}

export const operationWorkflow = DBOS.registerWorkflow(splitOrMerge, { name: "malleo.operation" });

/** Starts (or attaches to) the workflow of an operation; the operation id is the workflow id, so this is idempotent. */
export async function startOperationWorkflow(operationId: string) {
  return DBOS.startWorkflow(operationWorkflow, { workflowID: operationId })(operationId);
}
