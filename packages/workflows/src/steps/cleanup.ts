import { DBOS } from "@dbos-inc/dbos-sdk";
import { operationSetWaiting, operationTransition, publishEvent, vmGet, vmTransition } from "@malleo/db";
import { durably, recordedStep } from "../recorded-step";
import { errorText, fx, workflowTimeouts } from "../runtime";
import type { OperationContext } from "./context";

/**
 * Clean up: destroys and undefines the sources. Never rolled back — the application runs on the
 * targets — so a failed attempt is recorded, the operation shows "clean-up pending" with the
 * reason, and the attempt is retried after a durable sleep with exponential backoff.
 */
export async function cleanUpSources({ operationId, plan }: OperationContext): Promise<void> {
  const { db } = fx();
  let delay = workflowTimeouts().cleanupRetryMs;
  for (let attempt = 1; ; attempt++) {
    try {
      await recordedStep(operationId, "cleanup", async () => {
        for (const s of plan.sources) {
          const row = await vmGet(db, s.id);
          if (!row || row.state === "deleted") continue;
          await vmTransition(db, s.id, "deleting");
          await fx().destroyVm(s.id);
          await vmTransition(db, s.id, "deleted");
        }
        await publishEvent(db, { type: "topology" });
        return { destroyed: plan.sources.map((s) => s.name) };
      });
      return;
    } catch (e) {
      const reason = `clean-up pending: ${errorText(e)}; attempt ${attempt} failed, retrying in ${Math.round(delay / 1000)} s`;
      await durably(`cleanup-pending-${attempt}`, async () => {
        if (!(await operationTransition(db, operationId, "cleanup_pending", { waitingReason: reason })))
          await operationSetWaiting(db, operationId, reason, { status: "cleanup_pending" });
      });
      await DBOS.sleep(delay);
      delay = Math.min(delay * 2, workflowTimeouts().cleanupRetryMaxMs);
    }
  }
}
