import { upgradeStrategy, type UpgradeStrategy } from "@malleo/core";
import { shortId } from "./format";

/** A kind as applications.kinds lists it: installed or a registered bundle, its versions newest first. */
export interface UpgradeKind {
  source: "installed" | "bundle";
  versions: readonly string[];
}

/** A registered bundle version's state format (applications.bundles). */
export interface BundleStateFormat {
  version: string;
  stateVersion: number;
  migratesState: boolean;
}

/** The versions an upgrade may name: the kind's registered bundle versions other than the running one, newest first. */
export function upgradeVersions(kind: UpgradeKind | undefined, running: string | null): string[] {
  if (kind?.source !== "bundle") return [];
  return kind.versions.filter((v) => v !== running);
}

/**
 * Why the Upgrade action is not offered on this application now, in words (shown beside the
 * disabled button); null when it is. The server refuses the same cases (submitUpgrade).
 */
export function upgradeBlocker(
  app: { status: string; kind: string; version: string | null },
  kind: UpgradeKind | undefined,
  vms: readonly { lockedBy: string | null }[],
  canOperate: boolean,
): string | null {
  if (!canOperate) return "Your role is viewer: an operator upgrades applications";
  if (app.status === "deleted") return "The application is deleted";
  if (!kind) return `Its kind ${app.kind} is no longer installed or registered`;
  if (kind.source === "installed")
    return `${app.kind} is installed with Malleo, not a registered bundle: only a bundle application is upgraded`;
  if (upgradeVersions(kind, app.version).length === 0)
    return `No other version of ${app.kind} is registered: an admin registers one on the Admin page`;
  if (app.status !== "running") return `Only a running application can be upgraded (it is ${app.status})`;
  const locked = vms.find((v) => v.lockedBy !== null)?.lockedBy;
  if (locked) return `Operation ${shortId(locked)} holds its VMs: wait for it to finish`;
  return null;
}

/**
 * What an upgrade from the running version to `to` does to its actors' states, in words. The
 * server decides (upgradeRefusal in @malleo/sdk/bundle); this only says what the formats are, so
 * the operator is not surprised by its answer. `from` is undefined when the running version's
 * format is not known (its bundle no longer listed).
 */
export function upgradeStateNote(from: BundleStateFormat | undefined, to: BundleStateFormat | undefined): string {
  if (!to) return "";
  if (!from) return `${to.version} has state format ${to.stateVersion}.`;
  if (to.stateVersion === from.stateVersion)
    return `Same state format (${to.stateVersion}): each actor's state carries over as it is.`;
  if (to.stateVersion < from.stateVersion)
    return `State format ${from.stateVersion} → ${to.stateVersion}: ${to.version} reads an older format than the running ${from.version}, so its actors could not read their checkpointed states.`;
  if (to.migratesState)
    return `State format ${from.stateVersion} → ${to.stateVersion}: ${to.version}'s migrateState rewrites each actor's checkpointed state before it resumes.`;
  return `State format ${from.stateVersion} → ${to.stateVersion}, and ${to.version} has no migrateState: its actors could not read their checkpointed states.`;
}

/** Whether the formats say an upgrade's actors could read their states (the server has the last word). */
export function upgradeStateReadable(from: BundleStateFormat | undefined, to: BundleStateFormat | undefined): boolean {
  if (!from || !to) return true;
  return to.stateVersion === from.stateVersion || (to.stateVersion > from.stateVersion && to.migratesState);
}

/**
 * The strategies an upgrade between these formats offers: the one the server runs when none is
 * asked (rolling for the same format, restart when it changed), and why rolling cannot run (the
 * server's own refusal), or null. Unknown formats offer both, defaulting to rolling.
 */
export function upgradeStrategies(
  from: BundleStateFormat | undefined,
  to: BundleStateFormat | undefined,
): { preferred: UpgradeStrategy; rollingRefusal: string | null } {
  if (!from || !to) return { preferred: "rolling", rollingRefusal: null };
  const preferred = upgradeStrategy(undefined, from.stateVersion, to.stateVersion);
  const rolling = upgradeStrategy("rolling", from.stateVersion, to.stateVersion);
  return {
    preferred: "strategy" in preferred ? preferred.strategy : "restart",
    rollingRefusal: "refusal" in rolling ? rolling.refusal : null,
  };
}

/** What an upgrade of this strategy does, in words (the dialog's description). */
export function upgradeStrategyText(strategy: UpgradeStrategy, running: string): string {
  return strategy === "rolling"
    ? `A rolling upgrade boots a new VM beside each of the application's VMs, on the same host and of the same size, running the new version, while the application keeps running; then it moves every actor to its new VM live, each held only while it moves, and destroys the old VMs. Old and new versions run side by side meanwhile. A failure before every actor has moved puts them back on ${running}'s VMs, which ran on.`
    : `A restart takes a fresh checkpoint, then restarts the whole application at once — every theater, every actor — on the new version, each actor restored from that checkpoint, its state migrated by the new version's migrateState when the state format changed. It holds while it restarts and continues from the checkpoint, so nothing it computed is lost; a restart that fails goes back to ${running} from the same checkpoint.`;
}
