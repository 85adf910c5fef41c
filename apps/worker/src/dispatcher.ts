import { listenEvents, operationListByStatus, type Db } from "@malleo/db";
import { startOperationWorkflow } from "@malleo/workflows/worker";
import type { Logger } from "./log";

/**
 * Picks up operations the API accepted (status queued) and starts their durable workflows.
 * Woken by NOTIFY, with a poll as a safety net. The operation id is the workflow id, so a
 * second start — here or in another worker — attaches to the same workflow instead of running twice.
 */
export function startDispatcher(db: Db, url: string, pollMs: number, log: Logger): () => void {
  const started = new Set<string>();
  let busy = false;
  let again = false;
  const pickUp = async () => {
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    try {
      do {
        again = false;
        for (const op of await operationListByStatus(db, ["queued"])) {
          if (started.has(op.id)) continue;
          started.add(op.id);
          log({ event: "operation dispatched", operationId: op.id, kind: op.kind });
          await startOperationWorkflow(op.id);
        }
      } while (again);
    } catch (e) {
      log({ event: "dispatch failed", error: (e as Error).message });
    } finally {
      busy = false;
    }
  };
  const stopListening = listenEvents(url, (e) => {
    if (e.type === "operation") void pickUp();
  });
  const timer = setInterval(() => void pickUp(), pollMs);
  void pickUp();
  return () => {
    clearInterval(timer);
    stopListening();
  };
}
