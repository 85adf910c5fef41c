import { describe, expect, it } from "vitest";
import { auditAction, auditFilterFromParams, auditFilterQuery, auditVia, readableError } from "./audit";

const row = (procedure: string, over: Partial<Parameters<typeof auditAction>[0]> = {}) => ({
  actor: "admin",
  procedure,
  ok: true,
  error: null,
  ...over,
});

describe("auditAction", () => {
  it("says who was created with what role, whose role changed to what", () => {
    expect(auditAction(row("users.create", { target: "vera (viewer)" }))).toBe("created user vera (viewer)");
    expect(auditAction(row("users.setRole", { target: "otto (operator)" }))).toBe("changed the role of otto to operator");
    expect(auditAction(row("users.createToken", { target: "token nightly acting as otto" }))).toBe(
      "created API token nightly acting as otto",
    );
    expect(auditAction(row("hosts.register", { target: "host pm-4" }))).toBe("registered host pm-4");
    expect(auditAction(row("hosts.test", { target: "URI qemu:///system" }))).toBe("tested the connection to URI qemu:///system");
  });
  it("reads operations and sign-ins as actions, and keeps an unknown procedure's name", () => {
    expect(auditAction(row("operations.split"))).toBe("requested a split");
    expect(auditAction(row("operations.decideReadyTimeout", { input: { decision: "abort" } }))).toBe(
      "chose to abort at a ready barrier",
    );
    expect(auditAction(row("auth.signIn"))).toBe("signed in");
    expect(auditAction(row("something.new"))).toBe("something.new");
  });
});

describe("readableError", () => {
  it("turns a validator's JSON issues into field: message", () => {
    const raw = JSON.stringify([
      { code: "too_small", path: ["password"], message: "a password has at least 12 characters" },
      { code: "invalid_type", path: ["role"], message: "role is viewer, operator or admin" },
    ]);
    expect(readableError(raw)).toBe("password: a password has at least 12 characters; role: role is viewer, operator or admin");
  });
  it("keeps a plain message and the first line of a long one", () => {
    expect(readableError("vera is a viewer; this needs the operator role — ask an admin")).toBe(
      "vera is a viewer; this needs the operator role — ask an admin",
    );
    expect(readableError("boom\n    at x")).toBe("boom");
    expect(readableError("[not json")).toBe("[not json");
    expect(readableError(null)).toBe("");
  });
});

describe("auditVia / filters", () => {
  it("says session or token", () => {
    expect(auditVia({ actor: "otto", via: "token" })).toBe("API token");
    expect(auditVia({ actor: "otto", via: "session" })).toBe("session");
    expect(auditVia({ actor: "worker", via: null })).toBe("worker");
  });
  it("round-trips the filter through the CSV's query string", () => {
    const f = { actor: "vera", procedure: "operations.split", ok: false, from: "2026-12-01T10:00:00.000Z" };
    expect(auditFilterFromParams(new URLSearchParams(auditFilterQuery(f)))).toEqual(f);
    expect(auditFilterQuery({})).toBe("");
  });
});
