import { randomUUID } from "node:crypto";
import { applicationUpsert, checkpointWrite } from "@malleo/db";
import { createTestDatabase, type TestDatabase } from "@malleo/db/admin";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Role } from "./auth/roles";
import { createEventHub } from "./event-hub";
import { createCaller } from "./root";

/**
 * An application's checkpoints and recovery controls through the API against a real Postgres:
 * the list, automatic recovery on and off, a restore request for the worker, roles, bad input
 * and the audit trail. (The worker serving the request: apps/worker/src/recovery.integration.test.ts.)
 */
let t: TestDatabase;

beforeAll(async () => {
  t = await createTestDatabase();
  await applicationUpsert(t.db, { id: "heat", kind: "heat", config: {} });
  for (const iteration of [10, 20, 30, 40])
    await checkpointWrite(t.db, {
      applicationId: "heat",
      iteration,
      actors: 2,
      data: new Uint8Array([iteration]),
      reason: "periodic",
    });
});

afterAll(async () => {
  await t?.drop();
});

const as = (role: Role, name: string = role) =>
  createCaller({
    db: t.db,
    events: createEventHub("postgres://unused"),
    headers: new Headers(),
    user: { id: randomUUID(), name, role, via: "token" },
  });

describe("applications: checkpoints and recovery", () => {
  it("lists the kept checkpoints, newest first, with time, size, checksum and kind", async () => {
    const r = await as("viewer").applications.recovery({ applicationId: "heat" });
    expect(r).toMatchObject({ applicationId: "heat", status: "running", autoRecovery: true, restoreRequested: null });
    expect(r.checkpoints.map((c) => [c.sequence, c.iteration, c.bytes, c.reason])).toEqual([
      [4, 40, 1, "periodic"],
      [3, 30, 1, "periodic"],
      [2, 20, 1, "periodic"],
    ]);
    expect(r.checkpoints[0]!.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(r.checkpoints[0]!.takenAt).toBeInstanceOf(Date);
  });

  it("an operator turns automatic recovery off and on; a viewer may not; both audited", async () => {
    await expect(as("viewer", "vic").applications.setAutoRecovery({ applicationId: "heat", enabled: false })).rejects.toThrow();
    expect((await t.db.application.findUniqueOrThrow({ where: { id: "heat" } })).autoRecovery).toBe(true);
    expect(
      (await as("operator", "olga").applications.setAutoRecovery({ applicationId: "heat", enabled: false })).autoRecovery,
    ).toBe(false);
    expect((await t.db.application.findUniqueOrThrow({ where: { id: "heat" } })).autoRecovery).toBe(false);
    await as("operator", "olga").applications.setAutoRecovery({ applicationId: "heat", enabled: true });
    const audit = await t.db.auditEvent.findMany({
      where: { procedure: "applications.setAutoRecovery" },
      orderBy: { id: "asc" },
    });
    expect(audit.map((a) => [a.actor, a.ok])).toEqual([
      ["vic", false],
      ["olga", true],
      ["olga", true],
    ]);
  });

  it("an operator asks to restore a kept checkpoint: recorded for the worker, with who asked, and audited", async () => {
    const r = await as("operator", "olga").applications.restore({ applicationId: "heat", sequence: 3 });
    expect(r.restoreRequested).toEqual({ sequence: 3, by: "olga" });
    const row = await t.db.application.findUniqueOrThrow({ where: { id: "heat" } });
    expect([row.restoreRequestedSequence, row.restoreRequestedBy]).toEqual([3, "olga"]);
    expect(await t.db.auditEvent.count({ where: { procedure: "applications.restore", actor: "olga", ok: true } })).toBe(1);
  });

  it("refuses a pruned or unknown checkpoint, an unknown application and a viewer, changing nothing", async () => {
    await t.db.application.update({ where: { id: "heat" }, data: { restoreRequestedSequence: null, restoreRequestedBy: null } });
    await expect(as("operator").applications.restore({ applicationId: "heat", sequence: 1 })).rejects.toThrow(
      /checkpoint #1 of heat does not exist \(the last 3 are kept/,
    );
    await expect(as("operator").applications.restore({ applicationId: "nope", sequence: 3 })).rejects.toThrow(
      /application nope does not exist/,
    );
    await expect(as("operator").applications.recovery({ applicationId: "nope" })).rejects.toThrow(
      /application nope does not exist/,
    );
    await expect(as("operator").applications.restore({ applicationId: "heat", sequence: 0 })).rejects.toThrow();
    await expect(as("viewer").applications.restore({ applicationId: "heat", sequence: 3 })).rejects.toThrow();
    expect((await t.db.application.findUniqueOrThrow({ where: { id: "heat" } })).restoreRequestedSequence).toBeNull();
  });
});

describe("applications: what the console's pages read", () => {
  it("each installed kind comes with its config schema as JSON Schema, its default config valid against it", async () => {
    const kinds = await as("viewer").applications.kinds();
    expect(kinds.map((k) => k.kind)).toEqual(["crawler", "heat", "pagerank"]);
    const pagerank = kinds.find((k) => k.kind === "pagerank")!;
    const props = pagerank.configSchema.properties as Record<string, Record<string, unknown>>;
    expect(props.nodes).toMatchObject({ type: "integer", minimum: 2, maximum: 200_000 });
    expect(props.damping).toMatchObject({ type: "number", exclusiveMinimum: 0, exclusiveMaximum: 1 });
    expect(props.maxIterations!.anyOf).toEqual(expect.arrayContaining([{ type: "null" }]));
    expect(pagerank.configSchema.required).toEqual(Object.keys(pagerank.defaultConfig as object));
    expect(pagerank.configSchema.additionalProperties).toBe(false);
  });

  it("lists an application with its installed version", async () => {
    const heat = (await as("viewer").applications.list()).find((a) => a.id === "heat")!;
    expect(heat).toMatchObject({ kind: "heat", version: "1.0.0" });
  });

  it("lists an application's operations newest first, by plan or input, and no other application's", async () => {
    await applicationUpsert(t.db, { id: "other", kind: "heat", config: {} });
    const plan = (applicationId: string) => ({ kind: "split", applicationId, sources: [], targets: [] });
    const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s));
    const split = await t.db.operation.create({
      data: { kind: "split", input: { vmId: "x" }, plan: plan("heat"), createdAt: at(1) },
    });
    const stop = await t.db.operation.create({ data: { kind: "stop", input: { applicationId: "heat" }, createdAt: at(2) } });
    await t.db.operation.create({ data: { kind: "split", input: { vmId: "y" }, plan: plan("other"), createdAt: at(3) } });
    const ops = await as("viewer").applications.operations({ applicationId: "heat" });
    expect(ops.map((o) => [o.id, o.kind])).toEqual([
      [stop.id, "stop"],
      [split.id, "split"],
    ]);
    expect((await as("viewer").applications.operations({ applicationId: "heat", limit: 1 })).map((o) => o.id)).toEqual([stop.id]);
    expect(await as("viewer").applications.operations({ applicationId: "nope" })).toEqual([]);
    await expect(as("viewer").applications.operations({ applicationId: "heat", limit: 0 })).rejects.toThrow();
  });
});
