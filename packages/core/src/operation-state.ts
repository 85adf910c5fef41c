import { AppError } from "./errors";

export const OPERATION_STATUSES = [
  "queued",
  "running",
  "cleanup_pending",
  "rolling_back",
  "succeeded",
  "failed",
  "rolled_back",
] as const;
export type OperationStatus = (typeof OPERATION_STATUSES)[number];

/** The allowed transitions of an operation, in one place (Nova-style task states). */
export const OPERATION_TRANSITIONS: Record<OperationStatus, readonly OperationStatus[]> = {
  queued: ["running", "rolling_back", "failed"],
  running: ["succeeded", "cleanup_pending", "rolling_back", "failed"],
  // After Resume the application runs on the targets: clean-up is retried until it succeeds.
  cleanup_pending: ["running", "succeeded"],
  rolling_back: ["rolled_back", "failed"],
  succeeded: [],
  failed: [],
  rolled_back: [],
};

export const TERMINAL_STATUSES: readonly OperationStatus[] = ["succeeded", "failed", "rolled_back"];

export function assertTransition(from: OperationStatus, to: OperationStatus): void {
  if (!OPERATION_TRANSITIONS[from].includes(to)) {
    throw new AppError("INTERNAL", `operation cannot go from ${from} to ${to}`, { from, to });
  }
}

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
