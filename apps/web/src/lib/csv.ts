/** RFC 4180 CSV: fields with commas, quotes or line breaks are quoted; quotes are doubled. */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return "";
  const s = value instanceof Date ? value.toISOString() : String(value);
  // A leading =, +, - or @ would run as a formula in a spreadsheet: prefix it (OWASP CSV injection).
  const safe = /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export function csvRow(values: unknown[]): string {
  return `${values.map(csvField).join(",")}\r\n`;
}

/** The query string History puts in its URL, turned into the search procedure's input. */
export function historyFilterFromParams(params: URLSearchParams): Record<string, unknown> {
  const f: Record<string, unknown> = {};
  for (const key of ["vm", "hostId", "operator", "kind"] as const) {
    const v = params.get(key);
    if (v) f[key] = v;
  }
  const statuses = params.getAll("status").filter(Boolean);
  if (statuses.length > 0) f.statuses = statuses;
  for (const key of ["from", "to"] as const) {
    const v = params.get(key);
    if (v) f[key] = v;
  }
  const page = Number(params.get("page"));
  if (Number.isInteger(page) && page > 1) f.page = page;
  return f;
}
