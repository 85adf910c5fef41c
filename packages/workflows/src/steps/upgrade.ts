import { AppError, upgradeInput } from "@malleo/core";
import { applicationGet, applicationSetBundleVersion, operationGet, publishEvent, stepCount } from "@malleo/db";
import { upgradeRefusal } from "@malleo/sdk/bundle";
import { bundleManifestOf } from "../application-actions";
import type { OperationCheckpoint } from "../effects";
import { crashIfAsked, killVmTheaterIfAsked } from "../recorded-step";
import { fx } from "../runtime";
import type { OperationContext } from "./context";

/** What the upgrade's validate step records: the versions, and the state format to migrate from (absent: unchanged). */
export interface UpgradeVersions {
  from: string;
  to: string;
  migrateFrom?: number;
}

/** The submission's checks again, now that the VMs are locked: the application still running its version, the new one readable. */
export async function validateUpgradeStep({ operationId, plan }: OperationContext): Promise<UpgradeVersions> {
  const { db } = fx();
  const op = await operationGet(db, operationId);
  const { version } = upgradeInput.parse(op?.input);
  const app = await applicationGet(db, plan.applicationId);
  if (!app?.bundleVersion || app.status !== "running")
    throw new AppError("INVALID_INPUT", `application ${plan.applicationId} is no longer a running bundle application`);
  const [from, to] = await Promise.all([
    bundleManifestOf(db, app.kind, app.bundleVersion),
    bundleManifestOf(db, app.kind, version),
  ]);
  if (!from || !to) throw new AppError("INVALID_INPUT", `${app.kind} ${!from ? app.bundleVersion : version} is not registered`);
  const refusal = upgradeRefusal(from, to);
  if (refusal) throw new AppError("INVALID_INPUT", refusal);
  return {
    from: app.bundleVersion,
    to: version,
    ...(to.stateVersion !== from.stateVersion ? { migrateFrom: from.stateVersion } : {}),
  };
}

/** A fresh consistent checkpoint of the whole application, always taken (even with periodic checkpoints off): what the restart restores. */
export async function upgradeCheckpointStep({
  operationId,
  plan,
}: OperationContext): Promise<OperationCheckpoint & { sequence: number }> {
  const written = await fx().checkpointApplication(plan.applicationId, {
    operationId,
    kind: "upgrade",
    heldVms: [],
    required: true,
  });
  if ("skipped" in written) throw new AppError("CHECKPOINT_FAILED", `no checkpoint before the upgrade: ${written.skipped}`);
  return written;
}

/**
 * Restart: the new version recorded, then every theater of the application restarted (they
 * fetch the bundle again) and every actor restored from the checkpoint, migrated when the state
 * format changed. Its undo (a failure here): the old version recorded and restored from the
 * same checkpoint, unmigrated. The chaos suite's fault points (`restart:vm<N>:rebooted`, the first
 * attempt of the forward step only) fall between the VMs' reboots, before any actor is restored.
 */
export async function restartUpgradeStep(
  ctx: OperationContext,
  version: string,
  sequence: number,
  migrateFrom?: number,
  opts: { faults?: boolean } = {},
) {
  const { db } = fx();
  await applicationSetBundleVersion(db, ctx.plan.applicationId, version);
  const restart = fx().restartApplication;
  if (!restart) throw new Error("this worker cannot restart an application");
  const faults = opts.faults === true && (await stepCount(db, ctx.operationId, "restart")) === 1;
  const onRebooted = (vmId: string, n: number) => {
    if (!faults) return;
    crashIfAsked(ctx.operationId, `restart:vm${n}:rebooted`);
    killVmTheaterIfAsked(ctx.operationId, `restart:vm${n}:rebooted`, vmId);
  };
  const restarted = await restart(ctx.plan.applicationId, { sequence, migrateFrom, onRebooted });
  await publishEvent(db, { type: "application", applicationId: ctx.plan.applicationId, iteration: restarted.iteration });
  return { version, ...restarted };
}

/** A rolling upgrade's commit, once every actor moved to the new VMs: the application row names the new version. */
export async function recordRolledVersion(ctx: OperationContext, version: string): Promise<void> {
  const { db } = fx();
  const { iteration } = await applicationSetBundleVersion(db, ctx.plan.applicationId, version);
  await publishEvent(db, { type: "application", applicationId: ctx.plan.applicationId, iteration });
  fx().log({ operationId: ctx.operationId, event: "application upgraded", application: ctx.plan.applicationId, version });
}
