/** Human-readable output: aligned columns, no colours (pipes and logs stay clean). */
export function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  const numeric = headers.map((_, i) => rows.length > 0 && rows.every((r) => typeof r[i] === "number"));
  return cells
    .map((r) =>
      r
        .map((c, i) => (numeric[i] ? (c ?? "").padStart(widths[i]!) : (c ?? "").padEnd(widths[i]!)))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

export function mib(n: number): string {
  return n >= 1024 && n % 512 === 0 ? `${n / 1024} GiB` : `${n} MiB`;
}

export function ms(n: number | null): string {
  if (n === null) return "—";
  return n < 1000 ? `${Math.round(n)} ms` : `${(n / 1000).toFixed(1)} s`;
}
