// Deploying an application: its input and its plan (the targets a deploy creates, with the
// actors each starts with). Pure: the application's own schema and layout are applied by the
// caller, which passes the actor groups in.
import { z } from "zod";
import { requestGuard } from "./inputs";
import type { OperationPlan } from "./placement/plan";

const hostId = z.string().min(1, { error: "a host id is required" }).max(64, { error: "a host id has at most 64 characters" });

export const applicationId = z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, {
  error: "an application id is 1 to 32 lower-case letters, digits and dashes, starting with a letter",
});

export const deployVm = z
  .object({
    hostId,
    vcpus: z
      .number()
      .int({ error: "vcpus is a whole number from 1 to 64" })
      .min(1, { error: "vcpus is a whole number from 1 to 64" })
      .max(64, { error: "vcpus is a whole number from 1 to 64" }),
    memoryMiB: z
      .number()
      .int({ error: "memoryMiB is a whole number from 128 to 262144" })
      .min(128, { error: "memoryMiB is a whole number from 128 to 262144" })
      .max(262_144, { error: "memoryMiB is a whole number from 128 to 262144" }),
  })
  .strict();

export const deployInput = z
  .object({
    applicationId,
    kind: z.string().min(1, { error: "kind names an installed application" }).max(40),
    /** When given, must be the installed module's version (a deploy never runs another one). */
    version: z.string().max(40).optional(),
    /** Checked by the application's own schema. */
    config: z.unknown(),
    vms: z
      .array(deployVm)
      .min(1, { error: "an application starts on at least 1 VM" })
      .max(16, { error: "a deploy starts at most 16 VMs" }),
    ...requestGuard,
  })
  .strict();
export type DeployInput = z.infer<typeof deployInput>;

/** The deploy's targets, one per requested VM, each with the actors the application's layout gives it. */
export function planDeploy(
  appId: string,
  vms: readonly z.infer<typeof deployVm>[],
  actorGroups: readonly string[][],
  targetIdentity: (i: number) => { id: string; name: string },
): OperationPlan {
  return {
    kind: "deploy",
    applicationId: appId,
    sources: [],
    targets: vms.map((vm, i) => ({ ...targetIdentity(i), ...vm, actors: [...(actorGroups[i] ?? [])] })),
  };
}

/** Every kind of operation: what History filters on and every operation output names. */
export const OPERATION_KINDS = ["split", "merge", "deploy", "stop", "start", "delete", "upgrade"] as const;
export const operationKind = z.enum(OPERATION_KINDS);

/** Stop (actors hold, VMs stay), start (they resume) or delete (VMs destroyed, actors gone, history kept). */
export const APPLICATION_ACTIONS = ["stop", "start", "delete"] as const;
export type ApplicationAction = (typeof APPLICATION_ACTIONS)[number];
export const applicationActionInput = z.object({ applicationId, ...requestGuard }).strict();

/**
 * How an upgrade moves the actors onto the new version. `rolling`: a new VM beside each VM, booted
 * on the new version while the application runs, every actor moved to it live (each held only
 * while it moves), the old VMs destroyed; both versions run side by side meanwhile, so it needs
 * the same state format. `restart`: every theater restarted and every actor restored from one
 * checkpoint, its state migrated — the only way when the state format changed.
 */
export const UPGRADE_STRATEGIES = ["rolling", "restart"] as const;
export type UpgradeStrategy = (typeof UPGRADE_STRATEGIES)[number];

/** An upgrade operation's strategy, from its recorded transfer mode: a rolling one moves its actors live. */
export function upgradeStrategyOf(transferMode: string | null | undefined): UpgradeStrategy {
  return transferMode === "live" ? "rolling" : "restart";
}

/** Upgrade: a running bundle application moved to another registered version of its bundle. */
export const upgradeInput = z
  .object({
    applicationId,
    version: z.string().trim().min(1).max(40),
    /** Absent: rolling when the state format is unchanged, restart when it changed. */
    strategy: z.enum(UPGRADE_STRATEGIES, { error: 'strategy is "rolling" or "restart"' }).optional(),
    ...requestGuard,
  })
  .strict();
export type UpgradeInput = z.infer<typeof upgradeInput>;

/** The strategy an upgrade between these state formats runs, or why the one asked for cannot run. */
export function upgradeStrategy(
  asked: UpgradeStrategy | undefined,
  fromStateVersion: number,
  toStateVersion: number,
): { strategy: UpgradeStrategy } | { refusal: string } {
  const same = fromStateVersion === toStateVersion;
  if (asked === "rolling" && !same)
    return {
      refusal: `a rolling upgrade runs both versions side by side, so it needs the same state format, and this one changes it (${fromStateVersion} → ${toStateVersion}): upgrade with strategy restart, which migrates every state from one checkpoint`,
    };
  return { strategy: asked ?? (same ? "rolling" : "restart") };
}

/** Which application statuses each action starts from; anything else is refused with the reason. */
export const APPLICATION_ACTION_FROM: Record<ApplicationAction, readonly string[]> = {
  stop: ["running"],
  start: ["stopped"],
  delete: ["running", "stopped", "degraded"],
};

/**
 * A rolling upgrade's plan: the application's VMs as its sources, and beside each a target of the
 * same size on the same host with that VM's actors — what the upgrade boots on the new version.
 */
export function planRollingUpgrade(
  appId: string,
  vms: readonly { id: string; name: string; hostId: string; vcpus: number; memoryMiB: number }[],
  actorsOf: (vmId: string) => string[],
  targetIdentity: (i: number) => { id: string; name: string },
): OperationPlan {
  return {
    kind: "upgrade",
    applicationId: appId,
    sources: vms.map((v) => ({ id: v.id, name: v.name, hostId: v.hostId })),
    targets: vms.map((v, i) => ({
      ...targetIdentity(i),
      hostId: v.hostId,
      vcpus: v.vcpus,
      memoryMiB: v.memoryMiB,
      actors: actorsOf(v.id),
    })),
  };
}

/** An action's plan: the application's VMs as its sources (locked for it), no targets. */
export function planApplicationAction(
  action: ApplicationAction | "upgrade",
  appId: string,
  vms: readonly { id: string; name: string; hostId: string }[],
): OperationPlan {
  return {
    kind: action,
    applicationId: appId,
    sources: vms.map((v) => ({ id: v.id, name: v.name, hostId: v.hostId })),
    targets: [],
  };
}
