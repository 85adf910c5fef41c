import { DBOS } from "@dbos-inc/dbos-sdk";
import type { StepName } from "@malleo/core";
import { publishEvent, stepCloseInterrupted, stepCount, stepFinish, stepStart } from "@malleo/db";
import { errorText, fx, workflowTimeouts } from "./runtime";
import { RETRY_TRANSIENT } from "./transient-errors";

/** Fault injection for the chaos suite: SIGKILL this process at `<step>:<before|after>` (first attempt only). */
function maybeCrash(operationId: string, name: string, phase: "before" | "after", attempt: number): void {
  if (attempt !== 1) return;
  crashIfAsked(operationId, `${name}:${phase}`);
}

/** Fault injection for the chaos suite: SIGKILL this process when `point` is the one asked for. */
export function crashIfAsked(operationId: string, point: string): void {
  if (workflowTimeouts().crashAt !== point) return;
  fx().log({ operationId, event: "fault injected: SIGKILL", point });
  process.kill(process.pid, "SIGKILL");
}

let theaterKilled = false;
/** Fault injection for the chaos suite: SIGKILL the source's or target's theater at `point:<source|target>` (once a process). */
export function killTheaterIfAsked(operationId: string, point: string, move: { from: string; to: string }): void {
  const at = workflowTimeouts().killTheaterAt;
  if (!at?.startsWith(`${point}:`)) return;
  killTheaterAt(operationId, at, at.endsWith(":source") ? move.from : move.to);
}

/** Fault injection for the chaos suite: SIGKILL the theater of `vmId` when `point` is the one asked for (once a process). */
export function killVmTheaterIfAsked(operationId: string, point: string, vmId: string): void {
  if (workflowTimeouts().killTheaterAt === point) killTheaterAt(operationId, point, vmId);
}

function killTheaterAt(operationId: string, point: string, vmId: string): void {
  if (theaterKilled) return;
  theaterKilled = true;
  fx().log({ operationId, event: "fault injected: theater SIGKILL", point, vmId });
  fx().killTheater?.(vmId);
}

/** The error recorded on a step attempt a worker crash interrupted (closed when the step runs again). */
export const STEP_INTERRUPTED = "interrupted by a worker restart";

/**
 * Runs `body` as one durable DBOS step and records it in operation_steps (start, end, attempt,
 * outcome). A step interrupted by a crash is run again on recovery as a new attempt; a finished
 * one returns its recorded result without running. Bodies are idempotent for that reason.
 */
export async function recordedStep<T>(operationId: string, name: StepName | "rollback", body: () => Promise<T>): Promise<T> {
  return DBOS.runStep(
    async () => {
      const { db } = fx();
      // An earlier attempt still `running` was cut short by a crash (this one is its re-run): close it.
      await stepCloseInterrupted(db, operationId, name, STEP_INTERRUPTED);
      const attempt = (await stepCount(db, operationId, name)) + 1;
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

/**
 * A step of the log whose body runs in the workflow itself rather than as one DBOS step, because
 * it waits for a message (`DBOS.recv` may only be called there): its start and its end are durable
 * steps of their own, and the body is made of `durably` steps and waits. A crash before the start
 * is recorded re-runs it as a new attempt (the interrupted one closed); after that, recovery
 * replays what the body had done and carries on inside the same attempt.
 */
export async function recordedWorkflowStep<T>(operationId: string, name: StepName, body: () => Promise<T>): Promise<T> {
  const row = await DBOS.runStep(
    async () => {
      const { db } = fx();
      await stepCloseInterrupted(db, operationId, name, STEP_INTERRUPTED);
      const attempt = (await stepCount(db, operationId, name)) + 1;
      const started = await stepStart(db, operationId, name, attempt);
      await publishEvent(db, { type: "operation", operationId });
      fx().log({ operationId, step: name, attempt, event: "step started" });
      maybeCrash(operationId, name, "before", attempt);
      await fx().beforeStep?.(operationId, name);
      return { id: started.id, attempt };
    },
    { name: `${name} (start)`, ...RETRY_TRANSIENT },
  );
  let result: T;
  try {
    result = await body();
  } catch (e) {
    await DBOS.runStep(
      async () => {
        await stepFinish(fx().db, row.id, "failed", { error: errorText(e) });
        fx().log({ operationId, step: name, attempt: row.attempt, event: "step failed", error: errorText(e) });
        await publishEvent(fx().db, { type: "operation", operationId });
      },
      { name: `${name} (failed)`, ...RETRY_TRANSIENT },
    );
    throw e;
  }
  await DBOS.runStep(
    async () => {
      maybeCrash(operationId, name, "after", row.attempt);
      await stepFinish(fx().db, row.id, "succeeded", result === undefined ? {} : { detail: result as never });
      fx().log({ operationId, step: name, attempt: row.attempt, event: "step succeeded" });
      await publishEvent(fx().db, { type: "operation", operationId });
    },
    { name: `${name} (end)`, ...RETRY_TRANSIENT },
  );
  return result;
}

/** A recorded database read or write that is not itself a step of the log (DBOS checkpoints its result). */
export function durably<T>(name: string, body: () => Promise<T>): Promise<T> {
  return DBOS.runStep(body, { name, ...RETRY_TRANSIENT });
}
