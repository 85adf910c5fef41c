import { describe, expect, it } from "vitest";
import { createLogger, logLine, logRecord, type LogRecord } from "./log";

describe("the one log schema", () => {
  it("puts time, level, component and msg first and keeps every other field", () => {
    const r = logRecord("worker", "warn", "host unreachable", { hostId: "pm-1", operationId: "op-1" }, new Date(0));
    expect(Object.keys(r).slice(0, 4)).toEqual(["time", "level", "component", "msg"]);
    expect(r).toEqual({
      time: "1970-01-01T00:00:00.000Z",
      level: "warn",
      component: "worker",
      msg: "host unreachable",
      hostId: "pm-1",
      operationId: "op-1",
    });
  });

  it("never lets a field overwrite a fixed key, and drops undefined fields", () => {
    const r = logRecord("theater", "info", "real", { msg: "forged", level: "error", time: "x", extra: undefined });
    expect([r.msg, r.level, r["field.msg"], r["field.level"], r["field.time"]]).toEqual(["real", "info", "forged", "error", "x"]);
    expect("extra" in r).toBe(false);
  });

  it("writes a line even for a value JSON cannot hold", () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const line = logLine(logRecord("web", "error", "odd", { cyclic, big: 10n }));
    expect(JSON.parse(line)).toMatchObject({ msg: "odd", big: "10", cyclic: "[object Object]" });
  });

  it("the worker's event-style logger maps event to msg and infers the level", () => {
    const lines: LogRecord[] = [];
    const log = createLogger("worker", (r) => lines.push(r));
    log({ event: "host connected", hostId: "pm-1" });
    log({ event: "host unreachable", error: "refused" });
    log({ event: "fatal", level: "error" });
    log({ event: "odd level", level: "loud" });
    log({ msg: "from a record", level: "warn" });
    expect(lines.map((l) => [l.msg, l.level])).toEqual([
      ["host connected", "info"],
      ["host unreachable", "warn"],
      ["fatal", "error"],
      ["odd level", "info"],
      ["from a record", "warn"],
    ]);
    expect(lines.every((l) => l.component === "worker" && !("event" in l))).toBe(true);
  });
});
