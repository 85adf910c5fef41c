/** Structured logs: one JSON object a line. */
export function logLine(level: "info" | "warn" | "error", msg: string, fields: Record<string, unknown> = {}): void {
  const line = JSON.stringify({ time: new Date().toISOString(), level, service: "web", msg, ...fields });
  if (level === "error") console.error(line);
  else console.log(line);
}
