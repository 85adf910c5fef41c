/** Pure reshaping of API series into the wide rows Recharts draws (one row per x, one key per line). */

export function pivot<T>(
  items: readonly T[],
  x: (t: T) => number,
  key: (t: T) => string,
  value: (t: T) => number,
): { rows: Record<string, number>[]; keys: string[] } {
  const byX = new Map<number, Record<string, number>>();
  const keys = new Set<string>();
  for (const it of items) {
    const at = x(it);
    const k = key(it);
    keys.add(k);
    const row = byX.get(at) ?? { at };
    row[k] = value(it);
    byX.set(at, row);
  }
  return { rows: [...byX.values()].sort((a, b) => a.at! - b.at!), keys: [...keys].sort() };
}

/** Step durations → one row per operation (oldest first) with one column per step, in seconds. */
export function stepRowsByOperation(steps: readonly { operationId: string; kind: string; name: string; ms: number }[]): {
  rows: Record<string, string | number>[];
  names: string[];
} {
  const rows = new Map<string, Record<string, string | number>>();
  const names: string[] = [];
  for (const s of steps) {
    if (!names.includes(s.name)) names.push(s.name);
    const row = rows.get(s.operationId) ?? { op: `${s.kind} ${s.operationId.slice(0, 6)}`, operationId: s.operationId };
    row[s.name] = Number(row[s.name] ?? 0) + s.ms / 1000;
    rows.set(s.operationId, row);
  }
  return { rows: [...rows.values()], names: [...names].sort((a, b) => runOrder(a) - runOrder(b)) };
}

/** Steps in the order an operation runs them (a roll back last); unknown names after, as seen. */
const RUN_ORDER = ["validate", "ready", "provision", "transfer", "resume", "cleanup", "rollback"];
function runOrder(name: string): number {
  const i = RUN_ORDER.indexOf(name);
  return i < 0 ? RUN_ORDER.length : i;
}

export interface OperationMarker {
  operationId: string;
  kind: string;
  status: string;
  operator: string;
  startAt: number;
  endAt: number | null;
}

export interface OperationSpan extends OperationMarker {
  x1: number;
  x2: number;
  /** The label's line (0 at the top): spans whose labels would overlap get different lines. */
  lane: number;
  color: string;
  label: string;
}

/** One colour per outcome: a rolled-back split never looks like a successful one. */
export const OUTCOME_COLORS: Record<string, string> = {
  succeeded: "#15803d",
  rolled_back: "#b45309",
  failed: "#b91c1c",
};
const RUNNING_COLOR = "#2563eb";

/**
 * Each operation as a span from its start to its finish (to `now` while it runs), coloured by
 * outcome, with its label on the first line where it does not overlap an earlier label.
 * `labelMs`: how much of the time axis a label takes.
 */
export function operationSpans(markers: readonly OperationMarker[], now: number, labelMs: number): OperationSpan[] {
  const lanes: number[] = [];
  return [...markers]
    .sort((a, b) => a.startAt - b.startAt)
    .map((m) => {
      const x1 = m.startAt;
      const x2 = Math.max(m.endAt ?? now, x1);
      let lane = lanes.findIndex((end) => end <= x1);
      if (lane < 0) lane = lanes.length;
      lanes[lane] = x1 + labelMs;
      const outcome = m.endAt === null ? "running" : m.status.replace(/_/g, " ");
      return {
        ...m,
        x1,
        x2,
        lane,
        color: OUTCOME_COLORS[m.status] ?? RUNNING_COLOR,
        label: `${m.kind} · ${outcome} · ${m.operator}`,
      };
    });
}
