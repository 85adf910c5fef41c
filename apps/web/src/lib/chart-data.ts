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
  return { rows: [...rows.values()], names };
}
