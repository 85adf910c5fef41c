import { installedApplications } from "@malleo/applications";
import {
  applicationActionInput,
  deployInput,
  UPGRADE_STRATEGIES,
  upgradeInput,
  upgradeStrategyOf,
  type ApplicationAction,
} from "@malleo/core";
import { applicationList, bundleList, type Db } from "@malleo/db";
import { applicationKinds, submitApplicationAction, submitDeploy, submitUpgrade } from "@malleo/workflows";
import { z } from "zod";
import { operationOutput, operationStatus } from "../operation-detail";
import { applicationCommunicationProcedures } from "./application-communication";
import { applicationRecoveryProcedures } from "./application-recovery";
import { createTRPCRouter, operatorProcedure, viewerProcedure } from "../trpc";

const kindOutput = z.object({
  kind: z.string(),
  version: z.string(),
  description: z.string(),
  defaultConfig: z.unknown(),
  /** The application's config schema as JSON Schema (draft 2020-12, the input side): what the console's deploy form is generated from. */
  configSchema: z.record(z.string(), z.unknown()),
  /** Installed in the source tree, or registered as a bundle (applications.bundles). */
  source: z.enum(["installed", "bundle"]),
  /** Every version a deploy may name, newest first. */
  versions: z.array(z.string()),
});

/** The installed module's version of a kind (a deploy never runs another), the bundle version it runs, or null for a kind no longer installed. */
function runningVersion(a: { kind: string; bundleVersion: string | null }): string | null {
  if (a.bundleVersion !== null) return a.bundleVersion;
  return installedApplications.has(a.kind) ? installedApplications.get(a.kind).version : null;
}

const bundleOutput = z.object({
  kind: z.string(),
  version: z.string(),
  sha256: z.string(),
  size: z.number().int(),
  description: z.string(),
  behaviors: z.array(z.string()),
  /** Its actors' state format, and whether it reads older formats (migrateState): what an upgrade to it does to their states. */
  stateVersion: z.number().int().min(1),
  migratesState: z.boolean(),
  registeredBy: z.string(),
  registeredAt: z.date(),
});

/** An application's operations, newest first: those whose plan or input names it (a split names its VM, its plan the application). */
async function applicationOperations(db: Db, applicationId: string, limit: number) {
  const ids = await db.$queryRaw<{ id: string }[]>`
    SELECT id::text AS id FROM operations
     WHERE plan->>'applicationId' = ${applicationId} OR input->>'applicationId' = ${applicationId}
     ORDER BY created_at DESC, id DESC LIMIT ${limit}`;
  const rows = await db.operation.findMany({ where: { id: { in: ids.map((r) => r.id) } } });
  const byId = new Map(rows.map((r) => [r.id, r]));
  return ids.flatMap((r) => byId.get(r.id) ?? []);
}

const applicationOutput = z.object({
  id: z.string(),
  kind: z.string(),
  /** The installed module's version or the bundle version it runs; null when its kind is no longer installed. */
  version: z.string().nullable(),
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
  ...applicationCommunicationProcedures,
  /** The application kinds: installed (the registry of @malleo/applications) and registered bundles, each with a configuration to start from. */
  kinds: viewerProcedure.output(z.array(kindOutput)).query(({ ctx }) => applicationKinds(ctx.db)),

  /** The registered bundles, newest first (POST /api/applications/bundles registers one). */
  bundles: viewerProcedure.output(z.array(bundleOutput)).query(async ({ ctx }) =>
    (await bundleList(ctx.db)).map((b) => {
      const m = b.manifest as { description?: string; behaviors?: string[]; stateVersion?: number; migratesState?: boolean };
      // A manifest stored before state formats were recorded reads as format 1 without a migration (bundleManifestSchema's defaults).
      return {
        ...b,
        description: m.description ?? "",
        behaviors: m.behaviors ?? [],
        stateVersion: m.stateVersion ?? 1,
        migratesState: m.migratesState ?? false,
      };
    }),
  ),

  /** Every application, deployed or seeded. */
  list: viewerProcedure.output(z.array(applicationOutput)).query(async ({ ctx }) =>
    (await applicationList(ctx.db)).map((a) => ({
      id: a.id,
      kind: a.kind,
      version: runningVersion(a),
      config: a.config,
      iteration: a.iteration,
      status: a.status,
      statusReason: a.statusReason,
    })),
  ),

  /** The application's recent operations (deploy, stop, start, delete, split, merge), newest first; kept after a delete. */
  operations: viewerProcedure
    .input(z.object({ applicationId: z.string().min(1).max(200), limit: z.number().int().min(1).max(100).default(20) }).strict())
    .output(z.array(operationOutput))
    .query(({ ctx, input }) => applicationOperations(ctx.db, input.applicationId, input.limit)),

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
  /**
   * A running bundle application moved to another registered version. Rolling (the default when
   * the state format is unchanged): a new VM beside each of its VMs, booted on the new version
   * while the application runs, every actor moved to it live, the old VMs destroyed. Restart (the
   * default when the format changed; refused as rolling): a fresh checkpoint, then every theater
   * restarted and every actor restored from it under the new version, its state migrated by
   * migrateState. Refused, changing nothing, when the version is not registered or already runs,
   * the application is not a running bundle application, another operation holds one of its VMs,
   * or the new version cannot read the running one's state format.
   */
  upgrade: operatorProcedure
    .input(upgradeInput)
    .output(
      z.object({
        id: z.string(),
        kind: z.literal("upgrade"),
        status: operationStatus,
        applicationId: z.string(),
        version: z.string(),
        strategy: z.enum(UPGRADE_STRATEGIES),
      }),
    )
    .mutation(async ({ ctx, input }) => {
      const op = await submitUpgrade(ctx.db, input, ctx.user.name);
      return {
        id: op.id,
        kind: "upgrade" as const,
        status: op.status,
        applicationId: input.applicationId,
        version: input.version,
        strategy: upgradeStrategyOf(op.transferMode),
      };
    }),
});
