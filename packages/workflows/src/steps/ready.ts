import { AppError } from "@malleo/core";
import { actorListByVms, operationGetReadyDecision, operationSetWaiting, vmGet } from "@malleo/db";
import { fx, sleep, workflowTimeouts } from "../runtime";
import type { Compensation, OperationContext } from "./context";

async function setWaiting(operationId: string, reason: string | null, opts: { clearReadyDecision?: boolean } = {}) {
  await operationSetWaiting(fx().db, operationId, reason, {
    status: "running",
    ...(opts.clearReadyDecision ? { readyDecision: null } : {}),
  });
}

async function awaitReadyDecision(operationId: string): Promise<"extend" | "abort" | "cancel" | "timeout"> {
  const deadline = Date.now() + workflowTimeouts().readyDecisionMs;
  while (Date.now() < deadline) {
    const op = await operationGetReadyDecision(fx().db, operationId);
    if (op?.cancelRequestedAt) return "cancel";
    if (op?.readyDecision === "extend" || op?.readyDecision === "abort") return op.readyDecision;
    await sleep(250);
  }
  return "timeout";
}

/**
 * Barrier transfer only: every source actor reaches its safe point and holds. When actors miss
 * the deadline the operation waits, visibly naming them, for the operator to extend the wait
 * (only the stragglers are asked again) or abort. The targets are already provisioned.
 */
export async function readyStep({ operationId, plan }: OperationContext) {
  const { db } = fx();
  const heldFromMs = Date.now();
  const readyMs = workflowTimeouts().readyMs;
  let pending = new Map<string, string[]>();
  for (const s of plan.sources)
    pending.set(
      s.id,
      (await actorListByVms(db, [s.id])).map((a) => a.uan),
    );
  let ready = 0;
  for (let extensions = 0; ; extensions++) {
    const results = await Promise.all(
      [...pending].map(async ([vmId, uans]) => ({ vmId, ...(await fx().awaitActorsReady(vmId, uans, readyMs)) })),
    );
    ready += results.reduce((n, r) => n + r.ready.length, 0);
    pending = new Map(results.filter((r) => r.notReady.length > 0).map((r) => [r.vmId, r.notReady]));
    const stragglers = [...pending.values()].flat();
    if (stragglers.length === 0) {
      if (extensions > 0) await setWaiting(operationId, null);
      return { ready, extensions, heldFromMs };
    }
    const names = stragglers.slice(0, 5).join(", ") + (stragglers.length > 5 ? ` and ${stragglers.length - 5} more` : "");
    await setWaiting(operationId, `ready barrier timed out after ${readyMs} ms; not ready: ${names}; extend the wait or abort`, {
      clearReadyDecision: true,
    });
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
    await setWaiting(operationId, null, { clearReadyDecision: true });
  }
}

/**
 * Undo of anything that held source actors (the barrier, or a live move that failed part-way):
 * every actor still on a source runs again. Resuming a running actor changes nothing.
 */
export function resumeSources({ plan }: OperationContext): Compensation {
  return {
    what: "resume actors on the source VMs",
    undo: async () => {
      for (const s of plan.sources) {
        // A source whose theater is lost has no actor to resume: recovery restores them.
        if ((await vmGet(fx().db, s.id))?.state === "lost") continue;
        const actors = await actorListByVms(fx().db, [s.id]);
        if (actors.length > 0)
          await fx().resumeActors(
            s.id,
            actors.map((a) => a.uan),
          );
      }
    },
  };
}
