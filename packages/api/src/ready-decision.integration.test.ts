import { randomUUID } from "node:crypto";
import { userCreate } from "@malleo/db";
import { createTestDatabase, type TestDatabase } from "@malleo/db/admin";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashPassword } from "./auth/passwords";
import { httpCaller } from "./testing/http";

/**
 * `operations.decideReadyTimeout` over HTTP against a real Postgres: the operator's answer to a
 * ready barrier that timed out is recorded for the workflow (which polls `ready_decision`), and
 * refused clearly when it cannot apply. The workflow's side is tested with a real worker in
 * apps/worker/src/ready-timeout.integration.test.ts.
 */
let t: TestDatabase;
const { call, signIn } = httpCaller(() => t.db);
const WAITING = "ready barrier timed out after 300 ms; not ready: uan://heat/slab-3; extend the wait or abort";
let operator = "";
let viewer = "";

async function operation(fields: { status?: "queued" | "running" | "succeeded"; waitingReason?: string | null } = {}) {
  const op = await t.db.operation.create({
    data: {
      kind: "split",
      status: fields.status ?? "running",
      input: { vmId: randomUUID(), count: 2, targetHostIds: ["pm-2", "pm-3"], transfer: "live" },
      operator: "otto",
      waitingReason: fields.waitingReason ?? null,
    },
  });
  return op.id;
}

beforeAll(async () => {
  t = await createTestDatabase();
  await userCreate(t.db, { name: "otto", role: "operator", passwordHash: await hashPassword("operator password 1") });
  await userCreate(t.db, { name: "vic", role: "viewer", passwordHash: await hashPassword("viewer password 1") });
  operator = await signIn("otto", "operator password 1");
  viewer = await signIn("vic", "viewer password 1");
});
afterAll(() => t?.drop());

describe("operations.decideReadyTimeout", () => {
  it("records an operator's extend or abort while the operation waits on the barrier, and audits it", async () => {
    for (const decision of ["extend", "abort"] as const) {
      const id = await operation({ waitingReason: WAITING });
      const r = await call("operations.decideReadyTimeout", { id, decision }, { cookie: operator });
      expect(r.status, r.error?.message).toBe(200);
      expect(r.data).toEqual({ id, decision, by: "otto" });
      expect((await t.db.operation.findUniqueOrThrow({ where: { id } })).readyDecision).toBe(decision);
      const audit = await t.db.auditEvent.findFirstOrThrow({
        where: { procedure: "operations.decideReadyTimeout", operationId: id },
      });
      expect(audit).toMatchObject({ actor: "otto", ok: true, input: { id, decision } });
    }
  });

  it("answers NOT_FOUND for an unknown operation", async () => {
    const id = randomUUID();
    const r = await call("operations.decideReadyTimeout", { id, decision: "extend" }, { cookie: operator });
    expect(r.status).toBe(404);
    expect(r.error?.message).toBe(`operation ${id} does not exist`);
    expect(r.error?.data?.appCode).toBe("NOT_FOUND");
  });

  it("answers CONFLICT when the operation is not waiting on the barrier, and changes nothing", async () => {
    for (const fields of [{ status: "running" as const }, { status: "queued" as const }, { status: "succeeded" as const }]) {
      const id = await operation(fields);
      const r = await call("operations.decideReadyTimeout", { id, decision: "abort" }, { cookie: operator });
      expect(r.status).toBe(409);
      expect(r.error?.data?.appCode).toBe("NOT_WAITING");
      expect(r.error?.message).toBe(`operation ${id} is not waiting on a ready barrier; extend or abort applies only then`);
      expect((await t.db.operation.findUniqueOrThrow({ where: { id } })).readyDecision).toBeNull();
    }
    // A clean-up retry also waits, but not on the barrier.
    const cleanup = await operation({ status: "running", waitingReason: "clean up failed (attempt 1); retrying in 1 s" });
    expect((await call("operations.decideReadyTimeout", { id: cleanup, decision: "extend" }, { cookie: operator })).status).toBe(
      409,
    );
  });

  it("refuses a viewer (audited) and a decision other than extend or abort", async () => {
    const id = await operation({ waitingReason: WAITING });
    const denied = await call("operations.decideReadyTimeout", { id, decision: "abort" }, { cookie: viewer });
    expect(denied.status).toBe(403);
    expect(denied.error?.message).toBe("vic is a viewer; this needs the operator role — ask an admin");
    expect(await t.db.auditEvent.count({ where: { procedure: "operations.decideReadyTimeout", actor: "vic", ok: false } })).toBe(
      1,
    );

    const bad = await call("operations.decideReadyTimeout", { id, decision: "later" }, { cookie: operator });
    expect(bad.status).toBe(400);
    expect(bad.error?.message).toBe('decision: decision is "extend" (wait longer) or "abort" (roll back)');
    expect((await t.db.operation.findUniqueOrThrow({ where: { id } })).readyDecision).toBeNull();
  });
});
