// The operation lifecycle (statuses and transitions) is in lifecycle.ts, with the VM's.

/**
 * The workflow's steps, in order; their names are what History and the timeline show. The
 * targets are provisioned before anything is held. Ready and Resume belong to barrier transfers
 * only: a live transfer holds each actor just while it moves. Checkpoint saves the application
 * just before Transfer (in a barrier transfer at the cut Ready made), so an operation that
 * meets a dead theater has a cut from the moment it started to come back to.
 */
export const STEP_NAMES = ["validate", "provision", "ready", "checkpoint", "transfer", "resume", "cleanup"] as const;
export type StepName = (typeof STEP_NAMES)[number];

/** The steps an operation of this transfer mode runs, in order. */
export function stepsForMode(mode: "live" | "barrier"): readonly StepName[] {
  return mode === "barrier" ? STEP_NAMES : STEP_NAMES.filter((s) => s !== "ready" && s !== "resume");
}
export const STEP_LABELS: Record<StepName | "rollback", string> = {
  validate: "Validate & plan",
  ready: "Ready",
  provision: "Provision",
  checkpoint: "Checkpoint",
  transfer: "Transfer",
  resume: "Resume",
  cleanup: "Clean up",
  rollback: "Roll back",
};

/** Steps after which a cancel can no longer roll back: the actors already run on the targets. */
export const CANCELLABLE_UNTIL: StepName = "transfer";
