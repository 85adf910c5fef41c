import { AppError, TERMINAL_STATUSES, type OperationStatus } from "@malleo/core";
import { publishEvent, type Db } from "@malleo/db";

async function loadForControl(db: Db, operationId: string) {
  const op = await db.operation.findUnique({
    where: { id: operationId },
    include: { steps: { where: { name: "transfer", status: "succeeded" }, select: { id: true } } },
  });
  if (!op) throw new AppError("NOT_FOUND", `operation ${operationId} does not exist`, { operationId });
  return op;
}

/**
 * An operator cancels an operation: allowed until its Transfer has completed (after that the
 * application already runs on the new VMs, so there is nothing to roll back to). The workflow
 * sees the request at its next step boundary, or at once while it waits on a ready barrier,
 * and rolls back.
 */
export async function cancelOperation(db: Db, operationId: string, operator: string) {
  const op = await loadForControl(db, operationId);
  if ((TERMINAL_STATUSES as readonly string[]).includes(op.status)) {
    throw new AppError("CANCEL_TOO_LATE", `operation ${operationId} has already ended (${op.status}); nothing to cancel`, {
      status: op.status,
    });
  }
  if (op.status === "rolling_back") {
    throw new AppError("CANCEL_TOO_LATE", `operation ${operationId} is already rolling back`, { status: op.status });
  }
  if (op.steps.length > 0 || op.status === "cleanup_pending") {
    throw new AppError(
      "CANCEL_TOO_LATE",
      `operation ${operationId} has completed Transfer: the application runs on the new VMs; cancel is possible only until Transfer completes`,
      { status: op.status },
    );
  }
  const updated = await db.operation.updateMany({
    where: { id: operationId, status: { in: ["queued", "running"] satisfies OperationStatus[] }, cancelRequestedAt: null },
    data: { cancelRequestedAt: new Date(), cancelledBy: operator },
  });
  if (updated.count === 0) {
    throw new AppError("CANCEL_TOO_LATE", `operation ${operationId} was cancelled already or has just moved on`, {});
  }
  await publishEvent(db, { type: "operation", operationId });
  return { id: operationId, cancelRequested: true };
}

/**
 * The operator's answer when a ready barrier timed out: wait longer for the actors named, or
 * abort (roll back). Only valid while the operation is waiting on that barrier.
 */
export async function decideReadyTimeout(db: Db, operationId: string, decision: "extend" | "abort", operator: string) {
  const op = await loadForControl(db, operationId);
  if (op.status !== "running" || !op.waitingReason?.startsWith("ready")) {
    throw new AppError(
      "NOT_WAITING",
      `operation ${operationId} is not waiting on a ready barrier; extend or abort applies only then`,
      {
        status: op.status,
      },
    );
  }
  await db.operation.update({ where: { id: operationId }, data: { readyDecision: decision } });
  await publishEvent(db, { type: "operation", operationId });
  return { id: operationId, decision, by: operator };
}
