// The operation lifecycle (statuses and transitions) is in lifecycle.ts, with the VM's.

/**
 * The workflow's steps, in order; their names are what History and the timeline show. The
 * targets are provisioned before anything is held. Ready and Resume belong to barrier transfers
 * only: a live transfer holds each actor just while it moves.
 */
export const STEP_NAMES = ["validate", "provision", "ready", "transfer", "resume", "cleanup"] as const;
export type StepName = (typeof STEP_NAMES)[number];

/** The steps an operation of this transfer mode runs, in order. */
export function stepsForMode(mode: "live" | "barrier"): readonly StepName[] {
  return mode === "barrier" ? STEP_NAMES : STEP_NAMES.filter((s) => s !== "ready" && s !== "resume");
}
export const STEP_LABELS: Record<StepName | "rollback", string> = {
  validate: "Validate & plan",
  ready: "Ready",
  provision: "Provision",
  transfer: "Transfer",
  resume: "Resume",
  cleanup: "Clean up",
  rollback: "Roll back",
};

/** Steps after which a cancel can no longer roll back: the actors already run on the targets. */
export const CANCELLABLE_UNTIL: StepName = "transfer";
