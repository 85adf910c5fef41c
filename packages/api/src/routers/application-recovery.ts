import { AppError } from "@malleo/core";
import {
  applicationGet,
  applicationRequestRestore,
  applicationSetAutoRecovery,
  checkpointList,
  publishEvent,
  type Db,
} from "@malleo/db";
import { z } from "zod";
import { operatorProcedure, viewerProcedure } from "../trpc";

const applicationId = z.string().min(1).max(200);

const checkpointOutput = z.object({
  sequence: z.number().int(),
  takenAt: z.date(),
  /** The application's progress at the cut (heat: iteration; crawler: pages fetched). */
  iteration: z.number().int(),
  actors: z.number().int(),
  bytes: z.number().int(),
  sha256: z.string(),
  /** What took it, i.e. the kind of cut: periodic, stop (graceful stop), before split / before merge (an operation's), manual. */
  reason: z.string(),
});

const recoveryOutput = z.object({
  applicationId: z.string(),
  status: z.string(),
  statusReason: z.string().nullable(),
  /** Off: a lost theater leaves the application degraded until an operator restores it. */
  autoRecovery: z.boolean(),
  /** A restore an operator asked for that the worker has not served yet. */
  restoreRequested: z.object({ sequence: z.number().int(), by: z.string() }).nullable(),
  /** Newest first; the last 3 are kept. */
  checkpoints: z.array(checkpointOutput),
});

function notFound(id: string): never {
  throw new AppError("NOT_FOUND", `application ${id} does not exist; the topology lists the applications`, { applicationId: id });
}

async function recoveryView(db: Db, id: string): Promise<z.infer<typeof recoveryOutput>> {
  const app = await applicationGet(db, id);
  if (!app) notFound(id);
  const checkpoints = await checkpointList(db, id);
  return {
    applicationId: app.id,
    status: app.status,
    statusReason: app.statusReason,
    autoRecovery: app.autoRecovery,
    restoreRequested:
      app.restoreRequestedSequence === null
        ? null
        : { sequence: app.restoreRequestedSequence, by: app.restoreRequestedBy ?? "operator" },
    checkpoints: checkpoints.map(({ sequence, takenAt, iteration, actors, bytes, sha256, reason }) => ({
      sequence,
      takenAt,
      iteration,
      actors,
      bytes,
      sha256,
      reason,
    })),
  };
}

/**
 * An application's checkpoints and recovery: listed for everyone, changed by operators
 * (audited). Part of the `applications` router (routers/applications.ts).
 */
export const applicationRecoveryProcedures = {
  recovery: viewerProcedure
    .input(z.object({ applicationId }))
    .output(recoveryOutput)
    .query(({ ctx, input }) => recoveryView(ctx.db, input.applicationId)),

  /** Automatic recovery after a lost theater, on or off for this application. */
  setAutoRecovery: operatorProcedure
    .input(z.object({ applicationId, enabled: z.boolean() }))
    .output(recoveryOutput)
    .mutation(async ({ ctx, input }) => {
      if (!(await applicationSetAutoRecovery(ctx.db, input.applicationId, input.enabled))) notFound(input.applicationId);
      await publishEvent(ctx.db, { type: "topology" });
      return recoveryView(ctx.db, input.applicationId);
    }),

  /**
   * Restores every actor of the application from one of its checkpoints (lost VMs booted
   * afresh first). The worker serves the request once no operation holds the application's
   * VMs; History's audit log records the request and its `application.recovered` outcome.
   */
  restore: operatorProcedure
    .input(z.object({ applicationId, sequence: z.number().int().positive() }))
    .output(recoveryOutput)
    .mutation(async ({ ctx, input }) => {
      if (!(await applicationGet(ctx.db, input.applicationId))) notFound(input.applicationId);
      if (!(await applicationRequestRestore(ctx.db, input.applicationId, input.sequence, ctx.user.name)))
        throw new AppError(
          "NOT_FOUND",
          `checkpoint #${input.sequence} of ${input.applicationId} does not exist (the last 3 are kept; the list shows which)`,
          { applicationId: input.applicationId, sequence: input.sequence },
        );
      await publishEvent(ctx.db, { type: "topology" });
      return recoveryView(ctx.db, input.applicationId);
    }),
};
