// Stop, start and delete an application: operations on all of its VMs, which they lock like a
// split, so that none runs while another operation holds one of them (a deletion during a
// split is refused naming the split). The worker runs them: stop holds every actor at its safe
// point, start resumes them, delete discards the actors and destroys the VMs; the application
// row, its operations and its audit trail stay. An upgrade moves a running bundle application to
// another registered version: rolling (a new VM beside each, booted on the new version while the
// application runs, every actor moved to it live, the old VMs destroyed) when the state format is
// unchanged; otherwise checkpoint, then every theater restarted and every actor restored from
// that checkpoint under the new version, its states migrated.
import { randomUUID } from "node:crypto";
import {
  AppError,
  APPLICATION_ACTION_FROM,
  applicationActionInput,
  planApplicationAction,
  planRollingUpgrade,
  upgradeInput,
  upgradeStrategy,
  type ApplicationAction,
} from "@malleo/core";
import {
  actorListByVms,
  applicationGet,
  bundleFind,
  operationCreateWithLocks,
  vmListByApplication,
  type Db,
  type Operation,
} from "@malleo/db";
import { bundleManifestSchema, upgradeRefusal, type BundleManifest } from "@malleo/sdk/bundle";
import { accepted } from "./queue";
import { checkPlanCapacity, parseInput, submitOnce, targetIdentity } from "./submit";

export async function submitApplicationAction(
  db: Db,
  action: ApplicationAction,
  rawInput: unknown,
  operator: string,
): Promise<Operation> {
  const guarded = parseInput(applicationActionInput, rawInput);
  return submitOnce(db, action, guarded, operator, async (input, deadline) => {
    const app = await applicationGet(db, input.applicationId);
    if (!app)
      throw new AppError("NOT_FOUND", `application ${input.applicationId} does not exist`, {
        applicationId: input.applicationId,
      });
    if (!APPLICATION_ACTION_FROM[action].includes(app.status)) {
      throw new AppError(
        "INVALID_INPUT",
        `application ${app.id} is ${app.status}; it can be ${action === "start" ? "started" : action === "stop" ? "stopped" : "deleted"} only when ${APPLICATION_ACTION_FROM[action].join(" or ")}`,
        {
          applicationId: app.id,
          status: app.status,
        },
      );
    }
    return lockAndAccept(db, action, app.id, input, guarded.idempotencyKey, operator, deadline);
  });
}

/**
 * The operation on all of the application's VMs, created with their locks (refused naming the
 * operation holding one). `rolling`: an upgrade whose plan adds beside each VM a new one with its
 * actors, recorded with the live transfer mode (the actors move to the new VMs live).
 */
async function lockAndAccept(
  db: Db,
  action: ApplicationAction | "upgrade",
  applicationId: string,
  input: object,
  idempotencyKey: string | undefined,
  operator: string,
  deadline: Date | undefined,
  opts: { rolling?: boolean } = {},
): Promise<Operation> {
  const id = randomUUID();
  const vms = await vmListByApplication(db, applicationId);
  let plan = planApplicationAction(action, applicationId, vms);
  if (opts.rolling) {
    const actors = await actorListByVms(
      db,
      vms.map((v) => v.id),
    );
    plan = planRollingUpgrade(
      applicationId,
      vms,
      (vmId) => actors.filter((a) => a.vmId === vmId).map((a) => a.uan),
      (i) => targetIdentity(applicationId, id, i),
    );
    await checkPlanCapacity(db, plan, { requireReachable: true });
  }
  const op = await operationCreateWithLocks(db, {
    id,
    kind: action,
    input,
    plan: plan as never,
    vmIds: vms.map((v) => v.id),
    operator,
    idempotencyKey,
    deadline,
    ...(opts.rolling ? { transferMode: "live" } : {}),
  });
  return accepted(db, op);
}

/** A registered bundle's manifest (stateVersion and migratesState default for older rows); null when not registered. */
export async function bundleManifestOf(db: Db, kind: string, version: string): Promise<BundleManifest | null> {
  const row = await bundleFind(db, kind, version);
  return row && bundleManifestSchema.parse(row.manifest);
}

/**
 * Upgrade: refused, changing nothing, for an unknown application, one not running a bundle, a
 * version not registered or the one it runs, an application not running, a state format the new
 * version cannot read (upgradeRefusal), or another operation holding one of its VMs.
 */
export async function submitUpgrade(db: Db, rawInput: unknown, operator: string): Promise<Operation> {
  const guarded = parseInput(upgradeInput, rawInput);
  return submitOnce(db, "upgrade", guarded, operator, async (input, deadline) => {
    const app = await applicationGet(db, input.applicationId);
    if (!app || app.status === "deleted")
      throw new AppError("NOT_FOUND", `application ${input.applicationId} does not exist`, {
        applicationId: input.applicationId,
      });
    const details = { applicationId: app.id, version: input.version };
    if (app.bundleVersion === null)
      throw new AppError(
        "INVALID_INPUT",
        `application ${app.id} runs the installed ${app.kind}, not a registered bundle: only a bundle application can be upgraded`,
        details,
      );
    const to = await bundleManifestOf(db, app.kind, input.version);
    if (!to) throw new AppError("INVALID_INPUT", `${app.kind} ${input.version} is not registered`, details);
    if (input.version === app.bundleVersion)
      throw new AppError("INVALID_INPUT", `application ${app.id} already runs ${app.kind} ${input.version}`, details);
    if (app.status !== "running")
      throw new AppError("INVALID_INPUT", `application ${app.id} is ${app.status}; it can be upgraded only when running`, {
        ...details,
        status: app.status,
      });
    const from = await bundleManifestOf(db, app.kind, app.bundleVersion);
    if (!from)
      throw new AppError(
        "INVALID_INPUT",
        `${app.kind} ${app.bundleVersion}, which ${app.id} runs, is no longer registered`,
        details,
      );
    const formats = { ...details, from: from.stateVersion, to: to.stateVersion };
    const refusal = upgradeRefusal(from, to);
    if (refusal) throw new AppError("INVALID_INPUT", refusal, formats);
    const chosen = upgradeStrategy(input.strategy, from.stateVersion, to.stateVersion);
    if ("refusal" in chosen) throw new AppError("INVALID_INPUT", chosen.refusal, formats);
    return lockAndAccept(db, "upgrade", app.id, input, guarded.idempotencyKey, operator, deadline, {
      rolling: chosen.strategy === "rolling",
    });
  });
}
