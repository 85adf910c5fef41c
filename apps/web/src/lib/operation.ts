/** Pure helpers for showing an operation: its title and its step timeline. */

export interface PlanLike {
  sources: { name: string }[];
  targets: { name: string }[];
}

/** "heat-1 → heat-1a2b3c-1, heat-1a2b3c-2" */
export function operationTitle(plan: PlanLike | null): string {
  if (!plan) return "(no plan)";
  return `${plan.sources.map((s) => s.name).join(", ")} → ${plan.targets.map((t) => t.name).join(", ")}`;
}

export interface StepRecord {
  name: string;
  status: string;
  attempt: number;
}

export interface StepRow<T extends StepRecord> {
  name: string;
  /**
   * The latest attempt's status; without a record, "pending" while the operation may still
   * reach the step and "skipped" once it has ended without doing so.
   */
  status: string;
  attempts: number;
  latest: T | undefined;
}

/**
 * One row per workflow step in workflow order, pending ones included, then any other recorded
 * step (the roll back) in the order it ran. A retried step shows its latest attempt.
 */
export function stepRows<T extends StepRecord>(order: readonly string[], records: readonly T[], finished = false): StepRow<T>[] {
  const names = [...order, ...records.map((r) => r.name).filter((n, i, all) => !order.includes(n) && all.indexOf(n) === i)];
  return names.map((name) => {
    const mine = records.filter((r) => r.name === name);
    const latest = mine.reduce<T | undefined>((best, r) => (!best || r.attempt >= best.attempt ? r : best), undefined);
    return { name, status: latest?.status ?? (finished ? "skipped" : "pending"), attempts: mine.length, latest };
  });
}
