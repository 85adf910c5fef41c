import type { OperationPlan, TransferMode } from "@malleo/core";

/** What every step of one operation knows. */
export interface OperationContext {
  operationId: string;
  plan: OperationPlan;
  mode: TransferMode;
}

/** What a step pushes to be undone, in reverse order, if a later step fails before the switch-over. */
export interface Compensation {
  what: string;
  undo: () => Promise<void>;
}
