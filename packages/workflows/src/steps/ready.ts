import { AppError } from "@malleo/core";
import { actorListByVms, operationGetReadyDecision, operationSetWaiting, vmGet } from "@malleo/db";
import { DBOS } from "@dbos-inc/dbos-sdk";
import { READY_DECISION_TOPIC, type ReadyMessage } from "../queue";
import { durably } from "../recorded-step";
import { fx, workflowTimeouts } from "../runtime";
import type { Compensation, OperationContext } from "./context";

async function setWaiting(operationId: string, reason: string | null, opts: { clearReadyDecision?: boolean } = {}) {
  await operationSetWaiting(fx().db, operationId, reason, {
    status: "running",
    ...(opts.clearReadyDecision ? { readyDecision: null } : {}),
  });
}

/**
 * Workflow code (not inside a step): waits for the operator's answer, delivered as a DBOS message
 * (`sendReadyMessage`, sent after the guarded write that records it). The recorded decision is the
 * truth and the message only the wake-up: every wake, and every recheck,
 * reads it (a durable step), so a stale message or a lost one changes nothing. Without a message
 * it re-reads every `readyRecheckMs` (30 s): what a message lost in transit costs.
 */
async function awaitReadyDecision(operationId: string, round: number): Promise<"extend" | "abort" | "cancel" | "timeout"> {
  const deadline = await durably(
    `ready: decision deadline #${round}`,
    async () => Date.now() + workflowTimeouts().readyDecisionMs,
  );
  for (let look = 0; ; look++) {
    type Seen = { decision: "extend" | "abort" | "cancel" | "timeout" } | { decision: null; left: number };
    const seen = await durably(`ready: read decision #${round}.${look}`, async (): Promise<Seen> => {
      const op = await operationGetReadyDecision(fx().db, operationId);
      if (op?.cancelRequestedAt) return { decision: "cancel" };
      if (op?.readyDecision === "extend" || op?.readyDecision === "abort") return { decision: op.readyDecision };
      const left = deadline - Date.now();
      return left <= 0 ? { decision: "timeout" } : { decision: null, left };
    });
    if (seen.decision !== null) return seen.decision;
    await DBOS.recv<ReadyMessage>(READY_DECISION_TOPIC, {
      timeoutSeconds: Math.ceil(Math.min(workflowTimeouts().readyRecheckMs, seen.left) / 1000),
    });
  }
}

/**
 * Barrier transfer only: every source actor reaches its safe point and holds. When actors miss
 * the deadline the operation waits, visibly naming them, for the operator to extend the wait
 * (only the stragglers are asked again) or abort; the answer arrives as a DBOS message, so this
 * runs as workflow code (`recordedWorkflowStep`), each read and write a durable step of its own.
 * The targets are already provisioned.
 */
export async function readyStep({ operationId, plan }: OperationContext) {
  const heldFromMs = await durably("ready: held from", async () => Date.now());
  const readyMs = workflowTimeouts().readyMs;
  let pending = new Map<string, string[]>(
    await durably("ready: actors", async () =>
      Promise.all(
        plan.sources.map(async (s) => [s.id, (await actorListByVms(fx().db, [s.id])).map((a) => a.uan)] as [string, string[]]),
      ),
    ),
  );
  let ready = 0;
  for (let extensions = 0; ; extensions++) {
    const results = await durably(`ready: hold #${extensions}`, () =>
      Promise.all([...pending].map(async ([vmId, uans]) => ({ vmId, ...(await fx().awaitActorsReady(vmId, uans, readyMs)) }))),
    );
    ready += results.reduce((n, r) => n + r.ready.length, 0);
    pending = new Map(results.filter((r) => r.notReady.length > 0).map((r) => [r.vmId, r.notReady]));
    const stragglers = [...pending.values()].flat();
    if (stragglers.length === 0) {
      if (extensions > 0) await durably(`ready: waiting cleared #${extensions}`, () => setWaiting(operationId, null));
      return { ready, extensions, heldFromMs };
    }
    const names = stragglers.slice(0, 5).join(", ") + (stragglers.length > 5 ? ` and ${stragglers.length - 5} more` : "");
    await durably(`ready: waiting #${extensions}`, async () => {
      await setWaiting(
        operationId,
        `ready barrier timed out after ${readyMs} ms; not ready: ${names}; extend the wait or abort`,
        {
          clearReadyDecision: true,
        },
      );
      fx().log({ operationId, event: "ready barrier timed out", notReady: stragglers });
    });
    const decision = await awaitReadyDecision(operationId, extensions);
    if (decision !== "extend") {
      await durably(`ready: waiting ended #${extensions}`, () => setWaiting(operationId, null));
      throw new AppError(
        decision === "cancel" ? "CANCELLED" : "READY_TIMEOUT",
        `${decision === "timeout" ? "no operator answered in time" : decision === "cancel" ? "cancelled" : "aborted by the operator"} while ${stragglers.length} actor(s) were not ready: ${names}`,
        { notReady: stragglers },
      );
    }
    await durably(`ready: extended #${extensions}`, () => setWaiting(operationId, null, { clearReadyDecision: true }));
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
