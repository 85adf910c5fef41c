import { randomUUID } from "node:crypto";
import { applicationUpsert, auditAppend, hostUpsert, userCreate, vmCreate } from "@malleo/db";
import { createTestDatabase, type TestDatabase } from "@malleo/db/admin";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashPassword } from "./auth/passwords";
import { createEventHub } from "./event-hub";
import { handleApiRequest } from "./http";
import { httpCaller } from "./testing/http";

/**
 * Hostile input at the API boundary, against a real Postgres: refused with a 400 that says why,
 * nothing changed, and History (audit.list, operations.get, operations.search) still answering.
 */
let t: TestDatabase;
let cookie = "";
const vmId = randomUUID();

const api = httpCaller(() => t.db);
async function call(path: string, input: unknown, opts: { cookie?: string; query?: boolean; rawBody?: string } = {}) {
  const r = await api.call(path, input, opts);
  if (opts.rawBody === undefined && r.status >= 500) throw new Error(`server error ${r.status}: ${r.text}`);
  return r;
}

/** History's readers, each of which one poisoned row used to break for every user. */
async function expectHistoryLoads(operationId?: string) {
  const audit = await call("audit.list", { page: 1, pageSize: 500 }, { cookie, query: true });
  expect(audit.status, audit.error?.message).toBe(200);
  const search = await call("operations.search", {}, { cookie, query: true });
  expect(search.status, search.error?.message).toBe(200);
  if (operationId) {
    const op = await call("operations.get", { id: operationId }, { cookie, query: true });
    expect(op.status, op.error?.message).toBe(200);
  }
  return audit.data.items as { procedure: string; input: unknown; ok: boolean }[];
}

beforeAll(async () => {
  t = await createTestDatabase();
  await hostUpsert(t.db, { id: "pm-1", uri: "test:///default", cpus: 16, memoryMiB: 32768, vmQuota: 4 });
  await hostUpsert(t.db, { id: "pm-2", uri: "test:///default", cpus: 8, memoryMiB: 16384, vmQuota: 4 });
  await applicationUpsert(t.db, { id: "heat", kind: "heat", config: {} });
  await vmCreate(t.db, {
    id: vmId,
    name: "heat-1",
    hostId: "pm-1",
    applicationId: "heat",
    vcpus: 4,
    memoryMiB: 8192,
    state: "running",
  });
  await userCreate(t.db, { name: "olga", role: "admin", passwordHash: await hashPassword("admin password 1") });
  const signIn = await call("auth.signIn", { name: "olga", password: "admin password 1" });
  cookie = signIn.setCookie!.split(";")[0]!;
});
afterAll(() => t?.drop());

describe("hostile input", () => {
  it("a constructor key sent without credentials is refused and leaves History readable", async () => {
    const body = `{"json":{"vmId":"${vmId}","count":2,"targetHostIds":["pm-1","pm-2"],"constructor":{"prototype":{"x":1}}}}`;
    const r = await call("operations.split", undefined, { rawBody: body });
    expect(r.status).toBe(400);
    expect(r.error?.message).toBe('the field name "constructor" is not allowed');
    expect(await t.db.operation.count()).toBe(0);
    const rows = await expectHistoryLoads();
    const row = rows.find((a) => a.procedure === "operations.split");
    expect(row?.ok).toBe(false);
    expect(row?.input).toMatchObject({ "[constructor]": { "[prototype]": { x: 1 } } });
  });

  it("keys under __proto__ are refused, not silently dropped", async () => {
    const body = `{"json":{"vmId":"${vmId}","count":2,"targetHostIds":["pm-1","pm-2"],"__proto__":{"transfer":"barrier"}}}`;
    const r = await call("operations.split", undefined, { rawBody: body, cookie });
    expect(r.status).toBe(400);
    expect(r.error?.message).toBe('the field name "__proto__" is not allowed');
    expect(await t.db.operation.count()).toBe(0);
  });

  it("a row poisoned before this fix (raw prototype keys stored) no longer breaks audit.list or operations.get", async () => {
    const split = await call("operations.split", { vmId, count: 2, targetHostIds: ["pm-1", "pm-2"] }, { cookie });
    expect(split.status, split.error?.message).toBe(200);
    const operationId = split.data.id as string;
    await auditAppend(t.db, {
      actor: "mallory",
      procedure: "operations.cancel",
      input: JSON.parse(`{"id":"${operationId}","constructor":{"prototype":{}},"__proto__":{"a":1}}`) as never,
      ok: false,
      error: "refused",
      operationId,
    });
    await expectHistoryLoads(operationId);
    const cancel = await call("operations.cancel", { id: operationId }, { cookie });
    expect(cancel.status).toBe(200);
  });

  it.each([
    ["operations.search", { vm: "heat\u0000" }],
    ["operations.search", { operator: "\u202eolga" }],
    ["audit.list", { actor: "a\u0000" }],
  ])("a control character in a %s filter is a 400, not a database error", async (path, input) => {
    const r = await call(path, input, { cookie, query: true });
    expect(r.status).toBe(400);
    expect(r.error?.message).toMatch(/character U\+(0000|202E) is not allowed/);
  });

  it("a deeply nested input is refused and recorded, with no stack overflow", async () => {
    let nested = "1";
    for (let i = 0; i < 10_000; i++) nested = `{"a":${nested}}`;
    const before = await t.db.auditEvent.count();
    const r = await call("operations.split", undefined, { rawBody: `{"json":{"vmId":${nested}}}`, cookie });
    expect(r.status).toBe(400);
    expect(r.error?.message).toMatch(/levels deep/);
    expect(await t.db.auditEvent.count()).toBe(before + 1);
    await expectHistoryLoads();
  });

  it("an oversized string is refused and the audit row stays small", async () => {
    const r = await call("operations.merge", { vmIds: [vmId, "x".repeat(10_000)], targetHostId: "pm-1" }, { cookie });
    expect(r.status).toBe(400);
    expect(r.error?.message).toMatch(/at most 4096 characters/);
    const [row] = await t.db.auditEvent.findMany({ where: { procedure: "operations.merge" }, orderBy: { id: "desc" }, take: 1 });
    expect(JSON.stringify(row?.input).length).toBeLessThan(2_000);
  });
});

describe("the request before tRPC", () => {
  it("refuses a body over the limit with 413 before reading it whole, and stores nothing", async () => {
    const before = await t.db.auditEvent.count();
    const big = JSON.stringify({ json: { vmId, count: 2, targetHostIds: ["pm-1", "pm-2"], pad: "x".repeat(5_000_000) } });
    const r = await call("operations.split", undefined, { rawBody: big });
    expect(r.status).toBe(413);
    expect(r.error?.message).toBe("the request body is larger than 65536 bytes");
    expect(await t.db.auditEvent.count()).toBe(before);
  });

  it("checks every call of a batch and answers each with the refusal", async () => {
    const headers = new Headers({ "content-type": "application/json", cookie });
    const body = JSON.stringify({ "0": { json: { id: randomUUID() } }, "1": { json: { id: "a\u0000" } } });
    const req = new Request("http://localhost/api/trpc/operations.cancel,operations.cancel?batch=1", {
      method: "POST",
      headers,
      body,
    });
    const res = await handleApiRequest(req, { db: t.db, events: createEventHub("postgres://unused") });
    expect(res.status).toBe(400);
    const json = (await res.json()) as { error: { json: { message: string } } }[];
    expect(json).toHaveLength(2);
    expect(json[1]?.error.json.message).toMatch(/U\+0000/);
  });

  it("refuses a body that is not JSON with 400", async () => {
    const r = await call("operations.split", undefined, { rawBody: "{not json" });
    expect(r.status).toBe(400);
    expect(r.error?.message).toBe("the request body is not JSON");
  });
});
