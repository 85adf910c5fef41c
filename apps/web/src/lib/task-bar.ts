/** Pure helpers for the task bar: an operation's outcome, progress and targets in words, and which operations lock a page. */

import { stepsForOperation, TERMINAL_STATUSES, type OperationStatus } from "@malleo/core";
import { stepLabel } from "./operation";

type Kind = Parameters<typeof stepsForOperation>[0];

export interface TaskPlan {
  applicationId: string;
  sources: { id?: string; name: string }[];
  targets: { id?: string; name: string }[];
}

export interface TaskSummary {
  id: string;
  kind: Kind;
  status: OperationStatus;
  operator: string;
  cancelledBy: string | null;
  transferMode: "live" | "barrier" | null;
  plan: TaskPlan | null;
}

export type Tone = "info" | "ok" | "bad" | "warn" | "neutral";

/** Whether the operation is still under way (it may hold VMs). */
export function isActive(status: OperationStatus): boolean {
  return !TERMINAL_STATUSES.includes(status);
}

/**
 * The operation's state in a word: while running "Queued", "Running", "Rolling back" or
 * "Cleaning up"; once ended "Succeeded", "Failed", "Rolled back" or "Cancelled" (a roll back an
 * operator asked for).
 */
export function taskOutcome(op: Pick<TaskSummary, "status" | "cancelledBy">): { label: string; tone: Tone } {
  switch (op.status) {
    case "queued":
      return { label: "Queued", tone: "neutral" };
    case "running":
      return { label: "Running", tone: "info" };
    case "cleanup_pending":
      return { label: "Cleaning up", tone: "warn" };
    case "rolling_back":
      return { label: op.cancelledBy ? "Cancelling" : "Rolling back", tone: "warn" };
    case "succeeded":
      return { label: "Succeeded", tone: "ok" };
    case "failed":
      return { label: "Failed", tone: "bad" };
    case "rolled_back":
      return op.cancelledBy ? { label: "Cancelled", tone: "neutral" } : { label: "Rolled back", tone: "warn" };
  }
}

/** "Split", "Merge", "Deploy", … */
export function kindLabel(kind: string): string {
  return kind.charAt(0).toUpperCase() + kind.slice(1);
}

/**
 * What the operation works on, in words: "heat-1 → heat-1a-1, heat-1a-2" for a split or merge,
 * "→ ranks-1, ranks-2" for a deploy, "application heat (heat-1, heat-2)" for stop, start and delete.
 */
export function taskTargets(kind: Kind, plan: TaskPlan | null): string {
  if (!plan) return "(no plan)";
  const names = (xs: { name: string }[]) => xs.map((x) => x.name).join(", ");
  if (kind === "split" || kind === "merge") return `${names(plan.sources)} → ${names(plan.targets)}`;
  if (kind === "deploy") return `${plan.applicationId}: → ${names(plan.targets)}`;
  return plan.sources.length > 0
    ? `application ${plan.applicationId} (${names(plan.sources)})`
    : `application ${plan.applicationId}`;
}

export interface TaskStepRecord {
  name: string;
  status: string;
  attempt: number;
}

export interface TaskProgress {
  /** The step running now ("Transfer", "Roll back"), null between steps. */
  current: string | null;
  /** Steps of the workflow that have succeeded, of `total`. */
  done: number;
  total: number;
}

/** How far a running operation has got: the step running now and how many of its steps are done. */
export function taskProgress(
  op: { kind: Kind; transferMode: "live" | "barrier" | null },
  steps: readonly TaskStepRecord[],
): TaskProgress {
  // Operations recorded before transfer modes existed ran as a barrier.
  const order = stepsForOperation(op.kind, op.transferMode ?? "barrier");
  const latest = new Map<string, TaskStepRecord>();
  for (const s of steps) if ((latest.get(s.name)?.attempt ?? 0) <= s.attempt) latest.set(s.name, s);
  const done = order.filter((name) => latest.get(name)?.status === "succeeded").length;
  const running = [...latest.values()].filter((s) => s.status === "running").at(-1);
  return { current: running ? stepLabel(running.name) : null, done, total: order.length };
}

/** "Transfer · 3 of 5 steps done" */
export function progressText(p: TaskProgress): string {
  const done = `${p.done} of ${p.total} steps done`;
  return p.current ? `${p.current} · ${done}` : done;
}

/** What a console page shows, as far as locks go: one VM, one application's VMs, or every VM (the topology). */
export type PageScope = { kind: "vm"; vmId: string } | { kind: "application"; applicationId: string } | { kind: "topology" };

/** The page's scope from its path, or null for a page that shows no VM (History, Charts, Admin, an operation). */
export function pageScope(pathname: string): PageScope | null {
  if (pathname === "/") return { kind: "topology" };
  const vm = /^\/vms\/([^/]+)$/.exec(pathname);
  if (vm) return { kind: "vm", vmId: decodeURIComponent(vm[1]!) };
  const app = /^\/applications\/([^/]+)$/.exec(pathname);
  if (app) return { kind: "application", applicationId: decodeURIComponent(app[1]!) };
  return null;
}

/** Whether the operation's plan holds (as a source or a target) something the page shows. */
function touches(op: TaskSummary, scope: PageScope): boolean {
  if (!op.plan) return false;
  switch (scope.kind) {
    case "topology":
      return true;
    case "application":
      return op.plan.applicationId === scope.applicationId;
    case "vm":
      return [...op.plan.sources, ...op.plan.targets].some((v) => v.id === scope.vmId);
  }
}

/** Operations of other users, still under way, that lock what the page shows: the page's notice. */
export function locksByOthers<T extends TaskSummary>(ops: readonly T[], scope: PageScope | null, me: string): T[] {
  if (!scope) return [];
  return ops.filter((op) => isActive(op.status) && op.operator !== me && touches(op, scope));
}

/** "Locked by ada's split" — the notice's words before the link to the operation. */
export function lockNoticeText(op: Pick<TaskSummary, "operator" | "kind">): string {
  return `Locked by ${op.operator}'s ${op.kind}`;
}

/**
 * The task bar's rows: every operation under way (oldest first, so the list does not reorder as
 * new ones start below), then the most recent ended ones, newest first, `recent` at most.
 */
export function taskRows<T extends TaskSummary & { createdAt: Date }>(
  active: readonly T[],
  latest: readonly T[],
  recent: number,
): T[] {
  // The two lists are fetched apart: one may still show as under way what the other has seen end (an end is final).
  const byId = new Map<string, T>();
  for (const o of [...active, ...latest]) {
    const seen = byId.get(o.id);
    if (!seen || (isActive(seen.status) && !isActive(o.status))) byId.set(o.id, o);
  }
  const all = [...byId.values()];
  const running = all.filter((o) => isActive(o.status)).sort((x, y) => x.createdAt.getTime() - y.createdAt.getTime());
  const ended = all
    .filter((o) => !isActive(o.status))
    .sort((x, y) => y.createdAt.getTime() - x.createdAt.getTime())
    .slice(0, recent);
  return [...running, ...ended];
}
