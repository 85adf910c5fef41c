import { installedApplications } from "@malleo/applications";
import { applicationActionInput, deployInput, type ApplicationAction } from "@malleo/core";
import { applicationList } from "@malleo/db";
import { submitApplicationAction, submitDeploy } from "@malleo/workflows";
import { z } from "zod";
import { operationStatus } from "../operation-detail";
import { applicationRecoveryProcedures } from "./application-recovery";
import { createTRPCRouter, operatorProcedure, viewerProcedure } from "../trpc";

const kindOutput = z.object({ kind: z.string(), version: z.string(), description: z.string(), defaultConfig: z.unknown() });

const applicationOutput = z.object({
  id: z.string(),
  kind: z.string(),
  config: z.unknown(),
  iteration: z.number().int(),
  status: z.string(),
  statusReason: z.string().nullable(),
});

const actionOutput = z.object({
  id: z.string(),
  kind: z.enum(["stop", "start", "delete"]),
  status: operationStatus,
  applicationId: z.string(),
});

/** stop / start / delete: an operation on all of the application's VMs, locked like a split's. */
function applicationAction(action: ApplicationAction) {
  return operatorProcedure
    .input(applicationActionInput)
    .output(actionOutput)
    .mutation(async ({ ctx, input }) => {
      const op = await submitApplicationAction(ctx.db, action, input, ctx.user.name);
      return { id: op.id, kind: action, status: op.status, applicationId: input.applicationId };
    });
}

export const applicationsRouter = createTRPCRouter({
  ...applicationRecoveryProcedures,
  /** The installed application kinds (the registry of @malleo/applications), with a configuration to start from. */
  kinds: viewerProcedure.output(z.array(kindOutput)).query(() => installedApplications.summaries()),

  /** Every application, deployed or seeded. */
  list: viewerProcedure.output(z.array(applicationOutput)).query(async ({ ctx }) =>
    (await applicationList(ctx.db)).map((a) => ({
      id: a.id,
      kind: a.kind,
      config: a.config,
      iteration: a.iteration,
      status: a.status,
      statusReason: a.statusReason,
    })),
  ),

  /**
   * Deploy an application: its kind (installed), its configuration (checked by the application's
   * own schema) and its first VMs (host, vCPUs, memory each; quota and capacity checked as for a
   * split). Accepted as a `deploy` operation the worker runs: validate → provision → spawn.
   */
  deploy: operatorProcedure
    .input(deployInput)
    .output(z.object({ id: z.string(), kind: z.literal("deploy"), status: operationStatus, applicationId: z.string() }))
    .mutation(async ({ ctx, input }) => {
      const op = await submitDeploy(ctx.db, input, ctx.user.name);
      return { id: op.id, kind: "deploy" as const, status: op.status, applicationId: input.applicationId };
    }),

  /** Its actors hold at their safe points; its VMs stay. Refused unless it is running. */
  stop: applicationAction("stop"),
  /** A stopped application's actors resume. */
  start: applicationAction("start"),
  /** Its actors discarded, its VMs destroyed; its row, operations and audit trail kept. Refused while an operation holds one of its VMs. */
  delete: applicationAction("delete"),
});
