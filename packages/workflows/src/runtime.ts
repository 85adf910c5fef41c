import type { OperationEffects, WorkflowTimeouts } from "./effects";

let effects: OperationEffects | undefined;
let timeouts: WorkflowTimeouts = {
  readyMs: 30_000,
  readyDecisionMs: 15 * 60_000,
  readyRecheckMs: 30_000,
  cleanupRetryMs: 1_000,
  cleanupRetryMaxMs: 30_000,
  liveChunkActors: 8,
  liveMovesInFlight: 8,
};

/** The worker installs its effects once, before DBOS.launch(). */
export function installOperationEffects(e: OperationEffects, t: Partial<WorkflowTimeouts> = {}): void {
  effects = e;
  timeouts = { ...timeouts, ...t };
}

/** The installed effects: what the workflow does to the world outside Postgres. */
export function fx(): OperationEffects {
  if (!effects) throw new Error("operation effects not installed: call installOperationEffects before DBOS.launch");
  return effects;
}

export function workflowTimeouts(): WorkflowTimeouts {
  return timeouts;
}

export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
