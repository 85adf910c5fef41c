import { AppError, TERMINAL_STATUSES, type RequestGuard } from "@malleo/core";
import { deadlinePassed, operationDecideReady, operationGetForControl, operationRequestCancel, type Db } from "@malleo/db";
import { sendReadyMessage } from "./queue";

async function loadForControl(db: Db, operationId: string) {
  const op = await operationGetForControl(db, operationId);
  if (!op) throw new AppError("NOT_FOUND", `operation ${operationId} does not exist`, { operationId });
  return op;
}

/**
 * An operator cancels an operation: allowed until its Transfer has completed (after that the
 * application already runs on the new VMs, so there is nothing to roll back to). The workflow
 * sees the request at its next step boundary, or at once while it waits on a ready barrier,
 * and rolls back.
 */
export async function cancelOperation(db: Db, operationId: string, operator: string, guard: RequestGuard = {}) {
  const op = await loadForControl(db, operationId);
  // A replay of the cancel that was accepted answers as it did, instead of "cancelled already".
  if (guard.idempotencyKey && op.cancelIdempotencyKey === guard.idempotencyKey) return { id: operationId, cancelRequested: true };
  if (guard.deadline !== undefined && Date.now() > guard.deadline) throw deadlinePassed(new Date(guard.deadline));
  if ((TERMINAL_STATUSES as readonly string[]).includes(op.status)) {
    throw new AppError("CANCEL_TOO_LATE", `operation ${operationId} has already ended (${op.status}); nothing to cancel`, {
      status: op.status,
    });
  }
  if (op.status === "rolling_back") {
    throw new AppError("CANCEL_TOO_LATE", `operation ${operationId} is already rolling back`, { status: op.status });
  }
  if (op.kind === "upgrade" && op.steps.length > 0) {
    throw new AppError(
      "CANCEL_TOO_LATE",
      `operation ${operationId} has begun restarting the application on the new version; cancel is possible only until then (a failed restart rolls back by itself)`,
      { status: op.status },
    );
  }
  if (op.steps.length > 0 || op.status === "cleanup_pending") {
    throw new AppError(
      "CANCEL_TOO_LATE",
      `operation ${operationId} has completed Transfer: the application runs on the new VMs; cancel is possible only until Transfer completes`,
      { status: op.status },
    );
  }
  // The same conditions again, in the write (compare-and-swap): the workflow may have moved on.
  if (!(await operationRequestCancel(db, operationId, operator, guard.idempotencyKey))) {
    throw new AppError("CANCEL_TOO_LATE", `operation ${operationId} was cancelled already or has just moved on`, {});
  }
  // A workflow waiting on a timed-out ready barrier wakes on it (DBOS message); any other running
  // step reads the recorded request at its next boundary.
  if (op.status === "running") await sendReadyMessage(db, operationId, "cancel");
  return { id: operationId, cancelRequested: true };
}

/**
 * The operator's answer when a ready barrier timed out: wait longer for the actors named, or
 * abort (roll back). Only valid while the operation is waiting on that barrier, which the write
 * itself checks (compare-and-swap on status and waiting reason).
 */
export async function decideReadyTimeout(db: Db, operationId: string, decision: "extend" | "abort", operator: string) {
  if (!(await operationDecideReady(db, operationId, decision))) {
    const op = await loadForControl(db, operationId);
    throw new AppError(
      "NOT_WAITING",
      `operation ${operationId} is not waiting on a ready barrier; extend or abort applies only then`,
      {
        status: op.status,
      },
    );
  }
  await sendReadyMessage(db, operationId, decision);
  return { id: operationId, decision, by: operator };
}
