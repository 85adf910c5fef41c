/** Pure helpers for showing an operation: its title and its step timeline. */

import { STEP_LABELS } from "@malleo/core";
import { formatBytes, formatDuration, plural } from "./format";

/** A step's name as the step list shows it: "validate" → "Validate & plan". */
export function stepLabel(name: string): string {
  return (STEP_LABELS as Record<string, string>)[name] ?? name;
}

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

const TERMINAL = new Set(["succeeded", "failed", "rolled_back"]);

interface CancelView {
  status: string;
  cancelRequestedAt: Date | null;
  steps: readonly { name: string; status: string }[];
}

/**
 * Why Cancel is not offered right now: "ended" once the operation is over (hide the button),
 * a sentence while it cannot be cancelled, null when it can. Mirrors the server's rule: until
 * Transfer has completed.
 */
export function cancelBlocker(op: CancelView): string | null {
  if (TERMINAL.has(op.status)) return "ended";
  if (op.cancelRequestedAt) return "cancel already requested";
  if (op.status === "rolling_back") return "already rolling back";
  if (op.status === "cleanup_pending" || op.steps.some((s) => s.name === "transfer" && s.status === "succeeded")) {
    return "Transfer has completed: the application runs on the new VMs, so there is nothing to roll back to";
  }
  return null;
}

/**
 * Whether the operation waits for an operator to answer its timed-out ready barrier (extend or
 * abort). Mirrors the server's rule in decideReadyTimeout.
 */
export function waitingOnReadyBarrier(op: { status: string; waitingReason: string | null }): boolean {
  return op.status === "running" && (op.waitingReason?.startsWith("ready") ?? false);
}

/** What the roll back step undid, in the order it undid it. */
export function rolledBack(steps: readonly { name: string; status: string; detail: unknown }[]): string[] {
  const rb = steps.filter((s) => s.name === "rollback" && s.status === "succeeded").at(-1);
  const undone = (rb?.detail as { undone?: unknown } | null | undefined)?.undone;
  return Array.isArray(undone) ? undone.map(String) : [];
}

export interface LogLine {
  at: Date;
  who: string;
  text: string;
  tone: "info" | "ok" | "bad" | "warn";
}

interface LogSource {
  operator: string;
  createdAt: Date;
  /** With finishedAt, ends the log with the outcome once the operation is over. */
  status?: string;
  finishedAt?: Date | null;
  error?: string | null;
  steps: readonly {
    name: string;
    status: string;
    attempt: number;
    startedAt: Date;
    finishedAt: Date | null;
    error: string | null;
  }[];
  audit: readonly { at: Date; actor: string; procedure: string; ok: boolean; error: string | null; input?: unknown }[];
}

/** "requested cancel", "chose to wait longer for the ready barrier", … */
function requestText(procedure: string, input: unknown): string {
  const what = procedure.replace(/^operations\./, "");
  if (what !== "decideReadyTimeout") return `requested ${what}`;
  const decision = (input as { decision?: unknown } | null | undefined)?.decision;
  return decision === "abort" ? "chose to abort at the ready barrier" : "chose to wait longer at the ready barrier";
}

/** The operation's live log: audited requests and every step start and end, in time order. */
export function operationLog(op: LogSource): LogLine[] {
  const lines: LogLine[] = [];
  for (const a of op.audit) {
    const what = a.procedure.replace(/^operations\./, "");
    lines.push({
      at: a.at,
      who: a.actor,
      text: a.ok ? requestText(a.procedure, a.input) : `${what} refused: ${a.error ?? "unknown reason"}`,
      tone: a.ok ? "info" : "bad",
    });
  }
  if (!op.audit.some((a) => a.ok && /split|merge/.test(a.procedure))) {
    lines.push({ at: op.createdAt, who: op.operator, text: "submitted", tone: "info" });
  }
  for (const s of op.steps) {
    const attempt = s.attempt > 1 ? ` (attempt ${s.attempt})` : "";
    lines.push({ at: s.startedAt, who: "worker", text: `${stepLabel(s.name)} started${attempt}`, tone: "info" });
    if (s.finishedAt) {
      const ms = s.finishedAt.getTime() - s.startedAt.getTime();
      const failed = s.status === "failed";
      lines.push({
        at: s.finishedAt,
        who: "worker",
        text: `${stepLabel(s.name)} ${s.status} after ${formatDuration(ms)}${failed && s.error ? `: ${s.error}` : ""}`,
        tone: failed ? "bad" : s.status === "compensated" ? "warn" : "ok",
      });
    }
  }
  lines.sort((a, b) => a.at.getTime() - b.at.getTime());
  const outcome = op.status && op.finishedAt ? OUTCOME_LINES[op.status] : undefined;
  if (outcome && op.finishedAt) {
    const why = op.status !== "succeeded" && op.error ? `: ${op.error}` : "";
    lines.push({ at: op.finishedAt, who: "worker", text: `${outcome.text}${why}`, tone: outcome.tone });
  }
  return lines;
}

/** The last line of a finished operation's log. */
const OUTCOME_LINES: Record<string, { text: string; tone: LogLine["tone"] }> = {
  succeeded: { text: "operation succeeded", tone: "ok" },
  failed: { text: "operation failed", tone: "bad" },
  rolled_back: { text: "operation rolled back", tone: "warn" },
};

/** One fact of a step's detail, for people: a label and either a text or a list of names. */
export type DetailItem = { label: string; text: string } | { label: string; names: string[] };

const DETAIL_LABELS: Record<string, string> = {
  created: "created",
  destroyed: "destroyed",
  undone: "undone",
  moved: "actors moved",
  bytes: "state moved",
  ready: "actors ready",
  resumed: "actors resumed",
  extensions: "extra waits",
  mode: "transfer",
  hold: "actor hold",
  targets: "targets",
  sources: "sources",
};

/** "12 ms", "1.4 s" */
function ms(v: number): string {
  return formatDuration(v);
}

/**
 * A step's recorded detail as facts for people: bytes in KiB/MiB, VM lists as names, times
 * held as durations, hold distributions as p50/p99/max. Keys it does not know are shown as
 * they are, without JSON brackets.
 */
export function stepDetailItems(detail: unknown): DetailItem[] {
  if (detail === null || detail === undefined) return [];
  if (typeof detail !== "object" || Array.isArray(detail)) return [{ label: "result", text: plainValue(detail) }];
  const d = detail as Record<string, unknown>;
  const items: DetailItem[] = [];
  for (const [key, value] of Object.entries(d)) {
    if (key === "heldUntilMs" || key === "resumedAtMs") continue;
    const label = DETAIL_LABELS[key] ?? key;
    if (key === "heldFromMs" && typeof value === "number") {
      const until = typeof d.heldUntilMs === "number" ? d.heldUntilMs : typeof d.resumedAtMs === "number" ? d.resumedAtMs : null;
      // Alone (the Ready step) it only says when the hold began: the Transfer step says for how long.
      if (until !== null) items.push({ label: "actors held for", text: ms(until - value) });
      continue;
    }
    if (Array.isArray(value) && value.every((v) => typeof v === "string")) {
      items.push({ label, names: value });
    } else if (key === "bytes" && typeof value === "number") {
      items.push({ label, text: formatBytes(value) });
    } else if (key === "hold" && value && typeof value === "object") {
      const h = value as { count?: number; p50?: number; p99?: number; max?: number };
      items.push({
        label,
        text: `p50 ${ms(h.p50 ?? 0)} · p99 ${ms(h.p99 ?? 0)} · max ${ms(h.max ?? 0)}${h.count ? ` (${plural(h.count, "actor")})` : ""}`,
      });
    } else if (key === "holdMs" && Array.isArray(value)) {
      items.push({ label: "actor holds", text: plural(value.length, "measurement") });
    } else if (/Ms$/.test(key) && typeof value === "number") {
      items.push({ label: key.replace(/Ms$/, ""), text: ms(value) });
    } else {
      items.push({ label, text: plainValue(value) });
    }
  }
  return items;
}

function plainValue(v: unknown): string {
  if (v === null || v === undefined) return "—";
  if (typeof v === "number") return v.toLocaleString("en-US");
  if (Array.isArray(v)) return v.map(plainValue).join(", ");
  if (typeof v === "object") {
    return Object.entries(v as Record<string, unknown>)
      .map(([k, x]) => `${k} ${plainValue(x)}`)
      .join(" · ");
  }
  return String(v);
}
