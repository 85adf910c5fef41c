import { operationReleaseLocks, operationTransition, publishEvent } from "@malleo/db";
import { durably, recordedStep } from "../recorded-step";
import { errorText, fx } from "../runtime";
import type { Compensation } from "./context";

/**
 * A failure before the switch-over: the operation goes `rolling_back`, the compensations run in
 * reverse as one recorded `rollback` step, the locks are released and it ends `rolled_back` (or
 * `failed`, naming both errors, if the rollback itself failed).
 */
export async function rollBack(operationId: string, compensations: Compensation[], cause: unknown): Promise<string> {
  const { db } = fx();
  const reason = errorText(cause);
  await durably("rolling-back", async () => {
    await operationTransition(db, operationId, "rolling_back", { error: reason, waitingReason: null });
  });
  let rollbackError: string | undefined;
  try {
    await recordedStep(operationId, "rollback", async () => {
      // Every compensation runs even when an earlier one fails (a dead theater must not keep
      // the targets alive); the step fails afterwards, naming each failure.
      const undone: string[] = [];
      const failed: string[] = [];
      for (const c of [...compensations].reverse()) {
        try {
          await c.undo();
          undone.push(c.what);
        } catch (e) {
          failed.push(`${c.what}: ${errorText(e)}`);
          fx().log({ operationId, event: "compensation failed", what: c.what, error: errorText(e) });
        }
      }
      if (failed.length > 0) throw new Error(`${failed.join("; ")} (undone: ${undone.join(", ") || "nothing"})`);
      return { undone };
    });
  } catch (re) {
    rollbackError = errorText(re);
  }
  await durably("finish", async () => {
    await operationReleaseLocks(db, operationId);
    await operationTransition(db, operationId, rollbackError ? "failed" : "rolled_back", {
      from: ["rolling_back"],
      error: rollbackError ? `${reason}; rollback failed: ${rollbackError}` : reason,
    });
    await publishEvent(db, { type: "topology" });
  });
  return rollbackError ? "failed" : "rolled_back";
}
