import { AppError } from "./errors";

/**
 * The lifecycles of operations and VMs, in one place: every status a row can have and, for
 * each, the statuses it may go to next. `operationTransition` and `vmTransition` in packages/db
 * derive their compare-and-swap (`UPDATE … WHERE status IN (allowed froms)`) from these tables;
 * nothing else writes a status.
 */
export type TransitionTable<S extends string> = Readonly<Record<S, readonly S[]>>;

/** Whether the table allows going from `from` to `to` (staying put is never a transition). */
export function canTransition<S extends string>(table: TransitionTable<S>, from: S, to: S): boolean {
  return table[from].includes(to);
}

/** The statuses from which the table allows reaching `to`, in the table's order. */
export function allowedFrom<S extends string>(table: TransitionTable<S>, to: S): S[] {
  return (Object.keys(table) as S[]).filter((from) => table[from].includes(to));
}

// Operations ------------------------------------------------------------------------------

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

/** The allowed transitions of an operation (Nova-style task states). */
export const OPERATION_TRANSITIONS: TransitionTable<OperationStatus> = {
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

export function operationAllowedFrom(to: OperationStatus): OperationStatus[] {
  return allowedFrom(OPERATION_TRANSITIONS, to);
}

export function assertOperationTransition(from: OperationStatus, to: OperationStatus): void {
  if (!canTransition(OPERATION_TRANSITIONS, from, to)) {
    throw new AppError("INTERNAL", `operation cannot go from ${from} to ${to}`, { from, to });
  }
}

// VMs (the VmState enum of prisma/schema.prisma) --------------------------------------------

export const VM_STATES = ["provisioning", "running", "deleting", "deleted", "failed", "lost"] as const;
export type VmState = (typeof VM_STATES)[number];

/**
 * The allowed transitions of a VM. A target is recorded `provisioning` and becomes `running`
 * once its theater registered; a source is `deleting` while Clean up destroys it; a rollback
 * deletes its targets whether or not they got to `running`. A VM whose theater stopped
 * answering is `lost` until recovery boots it afresh (`running` again) or it is cleaned up.
 * `failed` (a VM whose domain is gone) is set by nothing yet; such a VM can only be cleaned up.
 */
export const VM_TRANSITIONS: TransitionTable<VmState> = {
  provisioning: ["running", "deleted", "failed"],
  running: ["deleting", "deleted", "failed", "lost"],
  deleting: ["deleted", "failed"],
  failed: ["deleting", "deleted"],
  lost: ["running", "deleting", "deleted", "failed"],
  deleted: [],
};

export function vmAllowedFrom(to: VmState): VmState[] {
  return allowedFrom(VM_TRANSITIONS, to);
}

export function assertVmTransition(from: VmState, to: VmState): void {
  if (!canTransition(VM_TRANSITIONS, from, to)) {
    throw new AppError("INTERNAL", `VM cannot go from ${from} to ${to}`, { from, to });
  }
}
