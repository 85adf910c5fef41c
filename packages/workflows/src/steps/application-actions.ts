import { AppError } from "@malleo/core";
import { actorDeleteByApplication, actorListByVms, applicationSetHealth, publishEvent } from "@malleo/db";
import { fx, workflowTimeouts } from "../runtime";
import type { OperationContext } from "./context";

/** Stop: every actor of the application held at its safe point, where it is; then the status. */
export async function holdApplicationStep({ plan }: OperationContext) {
  const { db } = fx();
  const actors = await actorListByVms(
    db,
    plan.sources.map((s) => s.id),
  );
  const notReady: string[] = [];
  for (const vm of plan.sources) {
    const uans = actors.filter((a) => a.vmId === vm.id).map((a) => a.uan);
    if (uans.length === 0) continue;
    notReady.push(...(await fx().awaitActorsReady(vm.id, uans, workflowTimeouts().readyMs)).notReady);
  }
  if (notReady.length > 0)
    throw new AppError("READY_TIMEOUT", `actors did not reach their safe point in time: ${notReady.slice(0, 5).join(", ")}`, {
      notReady,
    });
  await applicationSetHealth(db, plan.applicationId, "stopped", null);
  await publishEvent(db, { type: "topology" });
  return { held: actors.length };
}

/** Start (and the undo of a failed stop): every actor resumed; the application running again. */
export async function resumeApplicationStep({ plan }: OperationContext) {
  const { db } = fx();
  const actors = await actorListByVms(
    db,
    plan.sources.map((s) => s.id),
  );
  for (const vm of plan.sources) {
    const uans = actors.filter((a) => a.vmId === vm.id).map((a) => a.uan);
    if (uans.length > 0) await fx().resumeActors(vm.id, uans);
  }
  await applicationSetHealth(db, plan.applicationId, "running", null);
  await publishEvent(db, { type: "topology" });
  return { resumed: actors.length };
}

/** Delete, before its VMs are destroyed: the actors discarded on every theater and forgotten. */
export async function discardApplicationStep({ plan }: OperationContext) {
  await fx().stopApplication(plan.applicationId);
  const forgotten = await actorDeleteByApplication(fx().db, plan.applicationId);
  await applicationSetHealth(fx().db, plan.applicationId, "deleted", null);
  return { forgotten };
}
