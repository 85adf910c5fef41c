// The operation lifecycle (statuses and transitions) is in lifecycle.ts, with the VM's.
import { upgradeStrategyOf } from "./deploy";

/**
 * The workflow's steps, in order; their names are what History and the timeline show. The
 * targets are provisioned before anything is held. Ready and Resume belong to barrier transfers
 * only: a live transfer holds each actor just while it moves. Checkpoint saves the application
 * just before Transfer (in a barrier transfer at the cut Ready made), so an operation that
 * meets a dead theater has a cut from the moment it started to come back to.
 */
export const STEP_NAMES = [
  "validate",
  "provision",
  "ready",
  "checkpoint",
  "transfer",
  "resume",
  "cleanup",
  "spawn",
  "discard",
  "restart",
] as const;
export type StepName = (typeof STEP_NAMES)[number];

const SPLIT_MERGE_STEPS = STEP_NAMES.filter((s) => s !== "spawn" && s !== "discard" && s !== "restart");
/** A deploy: its targets are created and its actors started on them. */
export const DEPLOY_STEPS: readonly StepName[] = ["validate", "provision", "spawn"];
/** A restart upgrade: a fresh checkpoint, then every theater restarted and every actor restored from it under the new version. */
export const UPGRADE_STEPS: readonly StepName[] = ["validate", "checkpoint", "restart"];
/** A rolling upgrade: a live split's steps, each VM split 1:1 onto a new VM running the new version. */
export const ROLLING_UPGRADE_STEPS: readonly StepName[] = stepsForMode("live");

/** The steps a split or merge of this transfer mode runs, in order. */
export function stepsForMode(mode: "live" | "barrier"): readonly StepName[] {
  return mode === "barrier" ? SPLIT_MERGE_STEPS : SPLIT_MERGE_STEPS.filter((s) => s !== "ready" && s !== "resume");
}
/**
 * The steps an operation of this kind runs, in order (what the workflow runs, see
 * packages/workflows/src/operation-workflow.ts): split and merge by transfer mode, deploy its
 * own, stop holds the actors (Ready), start resumes them, delete discards them and cleans up, an
 * upgrade checkpoints and restarts the application on the new version — or, a rolling one
 * (recorded with the live transfer mode: it moves the actors live), runs a split's live steps.
 */
export function stepsForOperation(
  kind: "split" | "merge" | "deploy" | "stop" | "start" | "delete" | "upgrade",
  mode: "live" | "barrier",
): readonly StepName[] {
  switch (kind) {
    case "deploy":
      return DEPLOY_STEPS;
    case "upgrade":
      return upgradeStrategyOf(mode) === "rolling" ? ROLLING_UPGRADE_STEPS : UPGRADE_STEPS;
    case "stop":
      return ["validate", "ready"];
    case "start":
      return ["validate", "resume"];
    case "delete":
      return ["validate", "discard", "cleanup"];
    default:
      return stepsForMode(mode);
  }
}

export const STEP_LABELS: Record<StepName | "rollback", string> = {
  validate: "Validate & plan",
  ready: "Ready",
  provision: "Provision",
  checkpoint: "Checkpoint",
  transfer: "Transfer",
  resume: "Resume",
  cleanup: "Clean up",
  spawn: "Start actors",
  discard: "Discard actors",
  restart: "Restart on the new version",
  rollback: "Roll back",
};

/** Steps after which a cancel can no longer roll back: the actors already run on the targets. */
export const CANCELLABLE_UNTIL: StepName = "transfer";
