import { DBOS } from "@dbos-inc/dbos-sdk";
import { operationListByStatus, type Db } from "@malleo/db";
import { OPERATION_QUEUE } from "@malleo/workflows";
import { enqueueOperationWorkflow } from "@malleo/workflows/worker";
import type { Logger } from "./log";
import { Periodic } from "./periodic";

/**
 * The leader's side of DBOS's operation queue. The process that accepts an operation enqueues its
 * workflow with DBOS's client (`handOverOperation`); DBOS in this process dequeues it, polling the
 * queue every `pollMs`. What was accepted but never enqueued — the web server died between its
 * commit and the enqueue, or DBOS's database was down — is enqueued here: once at start, then on
 * each pass for operations queued longer than `graceMs`, and logged, since it means a hand-over
 * failed. Enqueueing is idempotent (the workflow id is the operation id).
 */
export async function startOperationQueue(
  db: Db,
  opts: { pollMs: number; sweepMs: number; graceMs?: number; log: Logger },
): Promise<{ sweep(): Promise<string[]>; stop(): Promise<void> }> {
  await DBOS.registerQueue(OPERATION_QUEUE, { minPollingIntervalMs: opts.pollMs, onConflict: "always_update" });
  const graceMs = opts.graceMs ?? 5_000;
  const sweep = async (all: boolean) => {
    const late = (await operationListByStatus(db, ["queued"])).filter(
      (op) => all || Date.now() - op.createdAt.getTime() > graceMs,
    );
    for (const op of late) {
      if (!all && (await DBOS.getWorkflowStatus(op.id))) continue; // enqueued, not yet dequeued
      await enqueueOperationWorkflow(op.id);
      if (!all) opts.log({ event: "operation handed over by the worker", level: "warn", operationId: op.id, kind: op.kind });
    }
    return late.map((op) => op.id); // (at start: every queued one, enqueued or not; a no-op for those that were)
  };
  const started = await sweep(true);
  if (started.length > 0) opts.log({ event: "queued operations handed over at start", operations: started });
  const loop = new Periodic(() => sweep(false), {
    intervalMs: opts.sweepMs,
    log: opts.log,
    failure: "operation queue sweep failed",
  });
  loop.start();
  return { sweep: () => sweep(false), stop: () => loop.stop() };
}
