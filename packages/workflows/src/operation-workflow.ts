/**
 * The split/merge saga: one DBOS workflow for both kinds. Each step lives in `steps/` with its
 * compensation beside it; this file only orders them.
 *
 *   validate → provision → [ready] → checkpoint → transfer → [resume] → clean up
 *
 * The targets are provisioned while the application runs on the sources. A live transfer (the
 * default) holds each actor only while it moves; a barrier transfer holds them all from Ready to
 * Resume. A failure before the switch-over rolls back in reverse; clean-up is retried, never
 * rolled back.
 */
import { DBOS } from "@dbos-inc/dbos-sdk";
import { AppError, operationTransferMode, upgradeStrategyOf, type OperationPlan } from "@malleo/core";
import { operationGet, operationRecordCost, operationReleaseLocks, operationTransition, publishEvent } from "@malleo/db";
import { OPERATION_QUEUE, OPERATION_WORKFLOW } from "./queue";
import { durably, recordedStep, recordedWorkflowStep } from "./recorded-step";
import { fx } from "./runtime";
import { throwIfCancelled } from "./steps/cancel-check";
import { checkpointStep } from "./steps/checkpoint";
import { cleanUpSources } from "./steps/cleanup";
import type { Compensation, OperationContext } from "./steps/context";
import { measureApplicationPause, sourceActivity, type PauseWindow, type RecordedActivity } from "./steps/measure-pause";
import { destroyTargets, provisionStep } from "./steps/provision";
import { readyStep, resumeSources } from "./steps/ready";
import { resumeStep } from "./steps/resume";
import { rollBack } from "./steps/rollback";
import { discardActors, spawnStep } from "./steps/spawn";
import { discardApplicationStep, holdApplicationStep, resumeApplicationStep } from "./steps/application-actions";
import { moveBack, transferBarrierStep, transferLiveStep, transferPlan, type TransferResult } from "./steps/transfer";
import { recordRolledVersion, restartUpgradeStep, upgradeCheckpointStep, validateUpgradeStep } from "./steps/upgrade";
import { validateStep } from "./steps/validate";

export { installOperationEffects } from "./runtime";
export { isTransientDatabaseError } from "./transient-errors";
export { recordedStep, STEP_INTERRUPTED } from "./recorded-step";

async function runOperation(operationId: string): Promise<string> {
  const { db } = fx();
  const op = await durably("load", () => operationGet(db, operationId));
  if (!op) throw new AppError("NOT_FOUND", `operation ${operationId} does not exist`);
  const ctx: OperationContext = { operationId, plan: op.plan as unknown as OperationPlan, mode: operationTransferMode(op) };
  const startedMs = await durably("start", async () => {
    await operationTransition(db, operationId, "running", { from: ["queued"] });
    return Date.now();
  });
  if (op.kind === "deploy") return deploy(ctx);
  if (op.kind === "stop" || op.kind === "start") return stopOrStart(ctx, op.kind);
  if (op.kind === "delete") return deleteApplication(ctx);
  // A rolling upgrade (recorded live) is a live split of each VM 1:1 onto one on the new version.
  if (op.kind === "upgrade" && upgradeStrategyOf(ctx.mode) === "restart") return upgrade(ctx);
  return splitOrMerge(ctx, startedMs);
}

/** stop: validate → ready (every actor held; resumed again on failure); start: validate → resume. */
async function stopOrStart(ctx: OperationContext, kind: "stop" | "start"): Promise<string> {
  const { operationId } = ctx;
  const compensations: Compensation[] = [];
  try {
    await recordedStep(operationId, "validate", async () => ({ vms: ctx.plan.sources.length }));
    if (kind === "stop") {
      compensations.push({ what: "resume the actors", undo: async () => void (await resumeApplicationStep(ctx)) });
      await recordedStep(operationId, "ready", () => holdApplicationStep(ctx));
    } else await recordedStep(operationId, "resume", () => resumeApplicationStep(ctx));
  } catch (e) {
    return rollBack(operationId, compensations, e);
  }
  await finish(operationId);
  return "succeeded";
}

/** delete: discard the actors, then destroy the VMs (clean-up, retried, never rolled back). */
async function deleteApplication(ctx: OperationContext): Promise<string> {
  const { operationId } = ctx;
  try {
    await recordedStep(operationId, "validate", async () => ({ vms: ctx.plan.sources.length }));
    await recordedStep(operationId, "discard", () => discardApplicationStep(ctx));
  } catch (e) {
    return rollBack(operationId, [], e);
  }
  await cleanUpSources(ctx);
  await finish(operationId);
  return "succeeded";
}

/**
 * upgrade, restart strategy: validate → checkpoint → restart (a whole-application restart from
 * the checkpoint; what an upgrade that changes the state format runs, its states migrated). A
 * failure before the restart changes nothing (the checkpoint's brief hold is over); one during it
 * records the old version again and restores it from the same checkpoint.
 */
async function upgrade(ctx: OperationContext): Promise<string> {
  const { operationId } = ctx;
  const compensations: Compensation[] = [];
  try {
    await throwIfCancelled(operationId, "validate");
    const versions = await recordedStep(operationId, "validate", () => validateUpgradeStep(ctx));
    await throwIfCancelled(operationId, "checkpoint");
    const { sequence } = await recordedStep(operationId, "checkpoint", () => upgradeCheckpointStep(ctx));
    await throwIfCancelled(operationId, "restart");
    compensations.push({
      what: `restore ${versions.from} from checkpoint #${sequence}`,
      undo: async () => void (await restartUpgradeStep(ctx, versions.from, sequence)),
    });
    await recordedStep(operationId, "restart", () =>
      restartUpgradeStep(ctx, versions.to, sequence, versions.migrateFrom, { faults: true }),
    );
  } catch (e) {
    return rollBack(operationId, compensations, e);
  }
  await finish(operationId);
  return "succeeded";
}

/** validate → provision → spawn; a failure destroys what was created and discards the actors. */
async function deploy(ctx: OperationContext): Promise<string> {
  const { operationId } = ctx;
  const compensations: Compensation[] = [];
  try {
    await throwIfCancelled(operationId, "validate");
    await recordedStep(operationId, "validate", () => validateStep(ctx));
    await throwIfCancelled(operationId, "provision");
    compensations.push(destroyTargets(ctx));
    await recordedStep(operationId, "provision", () => provisionStep(ctx));
    await throwIfCancelled(operationId, "spawn");
    compensations.push(discardActors(ctx));
    await recordedStep(operationId, "spawn", () => spawnStep(ctx));
  } catch (e) {
    return rollBack(operationId, compensations, e);
  }
  await finish(operationId);
  return "succeeded";
}

async function finish(operationId: string): Promise<void> {
  const { db } = fx();
  await durably("finish", async () => {
    await operationReleaseLocks(db, operationId);
    await operationTransition(db, operationId, "succeeded", { waitingReason: null });
    await publishEvent(db, { type: "topology" });
  });
}

/**
 * split / merge, and a rolling upgrade: validate → provision → [ready] → checkpoint → transfer →
 * [resume] → clean up. A rolling upgrade's plan pairs each VM with a new one on the same host.
 */
async function splitOrMerge(ctx: OperationContext, startedMs: number): Promise<string> {
  const { operationId } = ctx;
  const upgrading = ctx.plan.kind === "upgrade";

  const compensations: Compensation[] = [];
  let window: PauseWindow = { startedMs, heldFromMs: startedMs, heldUntilMs: startedMs };
  let measured: TransferResult | undefined;
  try {
    await throwIfCancelled(operationId, "validate");
    // A rolling upgrade checks the versions too; its targets boot on the new one (bundleOfApplication).
    const versions = await recordedStep(operationId, "validate", async () =>
      upgrading ? { ...(await validateUpgradeStep(ctx)), ...(await validateStep(ctx)) } : validateStep(ctx),
    );

    await throwIfCancelled(operationId, "provision");
    compensations.push(destroyTargets(ctx));
    await recordedStep(operationId, "provision", () => provisionStep(ctx));

    // Only from here is anything held, and the targets are already up.
    compensations.push(resumeSources(ctx));
    let heldFromMs = 0;
    if (ctx.mode === "barrier") {
      await throwIfCancelled(operationId, "ready");
      heldFromMs = (await recordedWorkflowStep(operationId, "ready", () => readyStep(ctx))).heldFromMs;
    }

    // Nothing has moved yet: a checkpoint that fails rolls the operation back.
    await throwIfCancelled(operationId, "checkpoint");
    await recordedStep(operationId, "checkpoint", () => checkpointStep(ctx));

    const moves = await durably("transfer-plan", () => transferPlan(ctx.plan));
    await throwIfCancelled(operationId, "transfer");
    compensations.push(moveBack(ctx, moves));
    let transfer: TransferResult = await recordedStep(operationId, "transfer", () =>
      ctx.mode === "live" ? transferLiveStep(ctx, moves) : transferBarrierStep(ctx, moves, heldFromMs),
    );

    if (ctx.mode === "barrier") {
      const { resumedAtMs } = await recordedStep(operationId, "resume", () => resumeStep(ctx));
      // Every moved actor stayed held after its commit until Resume.
      const wait = Math.max(0, resumedAtMs - transfer.heldUntilMs);
      const hold = transfer.hold && {
        ...transfer.hold,
        p50: transfer.hold.p50 + wait,
        p99: transfer.hold.p99 + wait,
        max: transfer.hold.max + wait,
      };
      transfer = { ...transfer, hold, heldUntilMs: resumedAtMs };
    }
    window = { startedMs, heldFromMs: transfer.heldFromMs, heldUntilMs: transfer.heldUntilMs };
    measured = transfer;
    // Every actor runs the new version now: the application row says so (a VM booted from here on loads it).
    if ("to" in versions) await durably("record-version", () => recordRolledVersion(ctx, versions.to));
  } catch (e) {
    return rollBack(operationId, compensations, e);
  }

  // The sources' progress is read before Clean up destroys them; the targets' after it.
  const sources = await durably("source-activity", () => sourceActivity(ctx, window));
  // Past the switch-over the application runs on the targets: clean-up failures are retried, never rolled back.
  await cleanUpSources(ctx);
  await recordCost(ctx, measured, window, sources);
  await finish(operationId);
  return "succeeded";
}

/** The application's pause and the actors' hold times, on the operation row (History, CSV, the operation page). */
async function recordCost(
  ctx: OperationContext,
  transfer: TransferResult | undefined,
  window: PauseWindow,
  sources: RecordedActivity[] | null,
): Promise<void> {
  if (!transfer) return;
  await durably("record-cost", async () => {
    const pause = await measureApplicationPause(ctx, window, sources);
    await operationRecordCost(fx().db, ctx.operationId, {
      transferMode: ctx.mode,
      pauseMs: pause?.pauseMs ?? null,
      hold: transfer.hold,
    });
    fx().log({ operationId: ctx.operationId, event: "transfer cost", mode: ctx.mode, pause, hold: transfer.hold });
    await publishEvent(fx().db, { type: "operation", operationId: ctx.operationId });
  });
}

export const operationWorkflow = DBOS.registerWorkflow(runOperation, { name: OPERATION_WORKFLOW });

/**
 * Enqueues the workflow of an operation on the operation queue (what `handOverOperation` does with
 * DBOS's client, from this process); the operation id is the workflow id, so this is idempotent.
 */
export async function enqueueOperationWorkflow(operationId: string) {
  return DBOS.startWorkflow(operationWorkflow, { workflowID: operationId, queueName: OPERATION_QUEUE })(operationId);
}
