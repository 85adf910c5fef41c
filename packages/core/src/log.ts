/**
 * The one log schema of every Malleo process (web, worker, Mediator, theater): one JSON object a
 * line, `{"time", "level", "component", "msg", …fields}`, with `operationId` among the fields on
 * every line of an operation's work. Field names that would overwrite the four fixed keys are
 * kept under `field.<name>` so that a line can always be read the same way.
 */
export type LogLevel = "debug" | "info" | "warn" | "error";
export const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];

export interface LogRecord {
  time: string;
  level: LogLevel;
  component: string;
  msg: string;
  [field: string]: unknown;
}

const FIXED = new Set(["time", "level", "component", "msg"]);

/** Builds a record of the schema; `now` is for tests. */
export function logRecord(
  component: string,
  level: LogLevel,
  msg: string,
  fields: Record<string, unknown> = {},
  now: Date = new Date(),
): LogRecord {
  const record: LogRecord = { time: now.toISOString(), level, component, msg };
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    record[FIXED.has(key) ? `field.${key}` : key] = value;
  }
  return record;
}

/** One line of JSON; a value JSON cannot hold (a cycle, a BigInt) is written as its text instead of losing the line. */
export function logLine(record: LogRecord): string {
  try {
    return JSON.stringify(record);
  } catch {
    return JSON.stringify(
      Object.fromEntries(
        Object.entries(record).map(([k, v]) => [k, typeof v === "object" || typeof v === "bigint" ? String(v) : v]),
      ),
    );
  }
}

export type LogSink = (record: LogRecord) => void;
/** Lines to stderr (the worker's, the Mediator's and the theaters' default). */
export const stderrSink: LogSink = (record) => {
  process.stderr.write(`${logLine(record)}\n`);
};

/**
 * A logger in the event style the worker uses: `log({ event, ...fields })`. `event` (or `msg`)
 * becomes the message; the level is the entry's own `level`, else `warn` when it carries an `error` field,
 * else `info`.
 */
export function createLogger(component: string, sink: LogSink = stderrSink) {
  return (entry: Record<string, unknown> & { event?: unknown; msg?: unknown; level?: unknown }) => {
    // A record from a part with its own (the Mediator's) keeps its message and level; its time
    // and component are this logger's.
    const { event, msg, level, time: _time, component: _component, ...fields } = entry;
    const lvl = typeof level === "string" && (LOG_LEVELS as readonly string[]).includes(level) ? (level as LogLevel) : undefined;
    const message = typeof event === "string" ? event : typeof msg === "string" ? msg : "log";
    sink(logRecord(component, lvl ?? ("error" in fields ? "warn" : "info"), message, fields));
  };
}
export type Logger = ReturnType<typeof createLogger>;
