// The operation lifecycle (statuses and transitions) is in lifecycle.ts, with the VM's.

/** The workflow's steps, in order; their names are what History and the timeline show. */
export const STEP_NAMES = ["validate", "ready", "provision", "transfer", "resume", "cleanup"] as const;
export type StepName = (typeof STEP_NAMES)[number];
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
