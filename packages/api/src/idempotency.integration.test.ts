import { randomUUID } from "node:crypto";
import { applicationUpsert, hostUpsert, userCreate, vmCreate } from "@malleo/db";
import { createTestDatabase, type TestDatabase } from "@malleo/db/admin";
import superjson from "superjson";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashPassword } from "./auth/passwords";
import { createEventHub } from "./event-hub";
import { handleApiRequest } from "./http";
import { httpCaller } from "./testing/http";

/**
 * Split, merge and cancel with a client's idempotency key and deadline, against a real
 * Postgres: a replay answers with the same operation and creates no second one; a request that
 * arrives after its deadline is refused and changes nothing.
 */
let t: TestDatabase;
let cookie = "";
const vms = { a: randomUUID(), b: randomUUID(), c: randomUUID(), d: randomUUID() };

const api = httpCaller(() => t.db);
const call = (path: string, input: unknown) => api.call(path, input, { cookie });

const key = () => `k-${randomUUID()}`;
const split = (vmId: string) => ({ vmId, count: 2, targetHostIds: ["pm-1", "pm-2"] });
const lockOf = async (id: string) => (await t.db.vm.findUniqueOrThrow({ where: { id } })).lockedBy;

beforeAll(async () => {
  t = await createTestDatabase();
  await hostUpsert(t.db, { id: "pm-1", uri: "test:///default", cpus: 64, memoryMiB: 131072, vmQuota: 16 });
  await hostUpsert(t.db, { id: "pm-2", uri: "test:///default", cpus: 64, memoryMiB: 131072, vmQuota: 16 });
  await applicationUpsert(t.db, { id: "heat", kind: "heat", config: {} });
  for (const [name, id] of Object.entries(vms))
    await vmCreate(t.db, {
      id,
      name: `heat-${name}`,
      hostId: "pm-1",
      applicationId: "heat",
      vcpus: 4,
      memoryMiB: 8192,
      state: "running",
    });
  await userCreate(t.db, { name: "olga", role: "operator", passwordHash: await hashPassword("operator password 1") });
  const req = new Request("http://localhost/api/trpc/auth.signIn", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(superjson.serialize({ name: "olga", password: "operator password 1" })),
  });
  const res = await handleApiRequest(req, { db: t.db, events: createEventHub("postgres://unused") });
  cookie = res.headers.get("set-cookie")!.split(";")[0]!;
});
afterAll(() => t?.drop());

describe("idempotency keys", () => {
  it("a replayed split answers with the same operation and creates no second one", async () => {
    const k = key();
    const first = await call("operations.split", { ...split(vms.a), idempotencyKey: k, deadline: Date.now() + 60_000 });
    expect(first.status, first.message).toBe(200);
    const again = await call("operations.split", { ...split(vms.a), idempotencyKey: k, deadline: Date.now() + 60_000 });
    expect(again.status, again.message).toBe(200);
    expect(again.data.id).toBe(first.data.id);
    // A replay after the first's deadline still answers: the request was accepted in time.
    const late = await call("operations.split", { ...split(vms.a), idempotencyKey: k, deadline: Date.now() - 1_000 });
    expect(late.data.id).toBe(first.data.id);
    expect(await t.db.operation.count({ where: { idempotencyKey: k } })).toBe(1);
    const stored = await t.db.operation.findUniqueOrThrow({ where: { id: first.data.id as string } });
    expect(stored.input).not.toHaveProperty("idempotencyKey");
    expect(stored.input).not.toHaveProperty("deadline");
  });

  it("the same key for a different request is refused", async () => {
    const k = key();
    expect((await call("operations.split", { ...split(vms.b), idempotencyKey: k })).status).toBe(200);
    const other = await call("operations.split", { ...split(vms.b), targetHostIds: ["pm-2", "pm-1"], idempotencyKey: k });
    expect(other.status).toBe(409);
    expect(other.appCode).toBe("IDEMPOTENCY_KEY_REUSED");
  });

  it("concurrent requests with one key make one operation, and all answer with it", async () => {
    const k = key();
    const results = await Promise.all(
      Array.from({ length: 6 }, () => call("operations.split", { ...split(vms.c), idempotencyKey: k })),
    );
    for (const r of results) expect(r.status, r.message).toBe(200);
    expect(new Set(results.map((r) => r.data.id)).size).toBe(1);
    expect(await t.db.operation.count({ where: { idempotencyKey: k } })).toBe(1);
  });

  it("a split that arrives after its client's deadline is refused and changes nothing", async () => {
    const before = await t.db.operation.count();
    const r = await call("operations.split", { ...split(vms.d), idempotencyKey: key(), deadline: Date.now() - 2_000 });
    expect(r.status).toBe(409);
    expect(r.appCode).toBe("DEADLINE_PASSED");
    expect(r.message).toMatch(/arrived \d+\.\d s after the deadline its client set .*nothing was changed/);
    expect(await t.db.operation.count()).toBe(before);
    expect(await lockOf(vms.d)).toBeNull();
  });

  it("merge: replay and late arrival", async () => {
    const [m1, m2] = [randomUUID(), randomUUID()];
    for (const id of [m1, m2])
      await vmCreate(t.db, {
        id,
        name: `heat-${id.slice(0, 4)}`,
        hostId: "pm-2",
        applicationId: "heat",
        vcpus: 2,
        memoryMiB: 2048,
        state: "running",
      });
    const late = await call("operations.merge", { vmIds: [m1, m2], targetHostId: "pm-1", idempotencyKey: key(), deadline: 1 });
    expect(late.appCode).toBe("DEADLINE_PASSED");
    expect(await lockOf(m1)).toBeNull();
    const k = key();
    const first = await call("operations.merge", { vmIds: [m1, m2], targetHostId: "pm-1", idempotencyKey: k });
    expect(first.status, first.message).toBe(200);
    const again = await call("operations.merge", { vmIds: [m1, m2], targetHostId: "pm-1", idempotencyKey: k });
    expect(again.data.id).toBe(first.data.id);
    expect(await t.db.operation.count({ where: { kind: "merge" } })).toBe(1);
  });

  it("cancel: a late cancel changes nothing; a replayed cancel answers as the first did", async () => {
    const op = await t.db.operation.findFirstOrThrow({ where: { input: { path: ["vmId"], equals: vms.a } } });
    const late = await call("operations.cancel", { id: op.id, idempotencyKey: key(), deadline: Date.now() - 500 });
    expect(late.status).toBe(409);
    expect(late.appCode).toBe("DEADLINE_PASSED");
    expect((await t.db.operation.findUniqueOrThrow({ where: { id: op.id } })).cancelRequestedAt).toBeNull();
    const k = key();
    const first = await call("operations.cancel", { id: op.id, idempotencyKey: k, deadline: Date.now() + 60_000 });
    expect(first.status, first.message).toBe(200);
    const again = await call("operations.cancel", { id: op.id, idempotencyKey: k, deadline: Date.now() + 60_000 });
    expect(again.status, again.message).toBe(200);
    expect(again.data).toEqual({ id: op.id, cancelRequested: true });
    // A different request (another key) is told the truth.
    const other = await call("operations.cancel", { id: op.id, idempotencyKey: key() });
    expect(other.appCode).toBe("CANCEL_TOO_LATE");
  });

  it("refuses a malformed key", async () => {
    const r = await call("operations.split", { ...split(vms.d), idempotencyKey: "short" });
    expect(r.status).toBe(400);
    expect(r.message).toMatch(/idempotency key is 16 to 100/);
  });
});
