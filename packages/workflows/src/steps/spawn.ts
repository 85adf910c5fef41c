import { installedApplications } from "@malleo/applications";
import { AppError } from "@malleo/core";
import { actorCreateMany, actorDeleteByApplication, applicationGet, publishEvent } from "@malleo/db";
import { bundleActorSpecs } from "../application-kinds";
import { fx } from "../runtime";
import type { Compensation, OperationContext } from "./context";

/**
 * A deploy's last step: records its actors on the targets the plan gave them (the application's
 * layout) and has the worker start them there. Idempotent: existing rows are kept and the worker
 * spawns only actors no theater hosts yet.
 */
export async function spawnStep({ plan }: OperationContext) {
  const { db } = fx();
  const app = await applicationGet(db, plan.applicationId);
  if (!app) throw new AppError("NOT_FOUND", `application ${plan.applicationId} does not exist`);
  // A bundle kind's actors come from its module run in a child process, never in the worker.
  const specs = app.bundleVersion
    ? await bundleActorSpecs(db, { ...app, bundleVersion: app.bundleVersion })
    : installedApplications.actorSpecs(app.kind, app.id, app.config);
  const targetOf = new Map(plan.targets.flatMap((t) => t.actors.map((uan) => [uan, t.id] as const)));
  await actorCreateMany(
    db,
    specs.map((s, ordinal) => ({ uan: s.uan, applicationId: app.id, vmId: targetOf.get(s.uan)!, behavior: s.behavior, ordinal })),
  );
  await fx().startApplication(app.id);
  await publishEvent(db, { type: "topology" });
  return { actors: specs.length, vms: plan.targets.length };
}

/** Undo of Spawn (before the targets are destroyed): the application's actors go, wherever they run. */
export function discardActors({ plan }: OperationContext): Compensation {
  return {
    what: "discard the application's actors",
    undo: async () => {
      await fx().stopApplication(plan.applicationId);
      await actorDeleteByApplication(fx().db, plan.applicationId);
    },
  };
}
