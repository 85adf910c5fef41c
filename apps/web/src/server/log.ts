import { logLine as line, logRecord, type LogLevel } from "@malleo/core";

/** The web process's logs: the one schema of packages/core's log.ts (component "web"), errors on stderr. */
export function logLine(level: Exclude<LogLevel, "debug">, msg: string, fields: Record<string, unknown> = {}): void {
  const text = line(logRecord("web", level, msg, fields));
  if (level === "error") console.error(text);
  else console.log(text);
}
