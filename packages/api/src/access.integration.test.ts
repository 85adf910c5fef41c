import { randomUUID } from "node:crypto";
import { applicationUpsert, hostUpsert, userCreate, vmCreate } from "@malleo/db";
import { createTestDatabase, type TestDatabase } from "@malleo/db/admin";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashPassword } from "./auth/passwords";
import { httpCaller } from "./testing/http";

/**
 * Sign-in, roles, API tokens, the audit trail and History's filters over HTTP against a real
 * Postgres: the same request path the browser and the CLI take.
 */
let t: TestDatabase;
const vmId = randomUUID();

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
  await userCreate(t.db, { name: "ada", role: "admin", passwordHash: await hashPassword("admin password 1") });
  await userCreate(t.db, { name: "vic", role: "viewer", passwordHash: await hashPassword("viewer password 1") });
});
afterAll(() => t?.drop());

const { call } = httpCaller(() => t.db);

async function signIn(name: string, password: string): Promise<string> {
  const r = await call("auth.signIn", { name, password });
  expect(r.status).toBe(200);
  expect(r.setCookie).toMatch(/^malleo_session=mls_[\w-]+; Path=\/; HttpOnly; SameSite=Lax/);
  return r.setCookie!.split(";")[0]!;
}

describe("access control", () => {
  it("signs in with a session stored hashed in Postgres, and signs out", async () => {
    const cookie = await signIn("ada", "admin password 1");
    const me = await call("auth.me", undefined, { cookie, query: true });
    expect(me.data).toEqual({ id: expect.any(String), name: "ada", role: "admin", via: "session" });
    const token = decodeURIComponent(cookie.split("=")[1]!);
    const stored = await t.db.session.findMany();
    expect(stored.some((s) => s.tokenHash === token)).toBe(false);
    expect(stored).toHaveLength(1);

    const out = await call("auth.signOut", undefined, { cookie });
    expect(out.setCookie).toMatch(/Max-Age=0/);
    expect((await call("auth.me", undefined, { cookie, query: true })).status).toBe(401);
  });

  it("refuses a wrong password without saying which half was wrong, and audits the attempt", async () => {
    const r = await call("auth.signIn", { name: "ada", password: "not it" });
    expect(r.status).toBe(401);
    expect(r.error?.message).toBe("wrong user name or password");
    const unknown = await call("auth.signIn", { name: "nobody", password: "not it" });
    expect(unknown.error?.message).toBe("wrong user name or password");
    const rows = await t.db.auditEvent.findMany({ where: { procedure: "auth.signIn", ok: false } });
    expect(rows.map((r) => r.actor).sort()).toEqual(["ada", "nobody"]);
    expect(rows.every((r) => (r.input as { password: string }).password === "[redacted]")).toBe(true);
  });

  it("lets a viewer read but refuses its split, merge and cancel", async () => {
    const cookie = await signIn("vic", "viewer password 1");
    expect((await call("topology.get", undefined, { cookie, query: true })).status).toBe(200);
    const split = await call("operations.split", { vmId, count: 2, targetHostIds: ["pm-1", "pm-2"] }, { cookie });
    expect(split.status).toBe(403);
    expect(split.error?.message).toMatch(/vic is a viewer; this needs the operator role/);
    const cancel = await call("operations.cancel", { id: randomUUID() }, { cookie });
    expect(cancel.status).toBe(403);
    expect(await t.db.operation.count()).toBe(0);
    const denied = await t.db.auditEvent.findMany({ where: { actor: "vic", ok: false } });
    expect(denied.map((d) => d.procedure).sort()).toEqual(["operations.cancel", "operations.split"]);
  });

  it("refuses user management to non-admins", async () => {
    const cookie = await signIn("vic", "viewer password 1");
    const r = await call("users.create", { name: "eve", role: "admin", password: "long enough pw" }, { cookie });
    expect(r.status).toBe(403);
  });

  it("an admin creates an operator and an API token; the token acts as that operator and the operation names them", async () => {
    const cookie = await signIn("ada", "admin password 1");
    const created = await call("users.create", { name: "otto", role: "operator", password: "operator password" }, { cookie });
    expect(created.status).toBe(200);
    const dup = await call("users.create", { name: "otto", role: "viewer", password: "operator password" }, { cookie });
    expect(dup.error?.message).toBe("a user named otto already exists");
    const tok = await call("users.createToken", { userId: created.data.id, name: "ci" }, { cookie });
    const secret = tok.data.secret as string;
    expect(secret).toMatch(/^mlt_/);
    expect(await t.db.apiToken.count({ where: { tokenHash: secret } })).toBe(0);

    const split = await call("operations.split", { vmId, count: 2, targetHostIds: ["pm-1", "pm-2"] }, { bearer: secret });
    expect(split.status).toBe(200);
    const op = await t.db.operation.findUniqueOrThrow({ where: { id: split.data.id as string } });
    expect(op.operator).toBe("otto");
    const audit = await t.db.auditEvent.findFirstOrThrow({ where: { procedure: "operations.split", ok: true } });
    expect(audit).toMatchObject({
      actor: "otto",
      operationId: op.id,
      input: { vmId, count: 2, targetHostIds: ["pm-1", "pm-2"] },
    });

    expect((await call("operations.get", { id: op.id }, { bearer: "mlt_wrong", query: true })).status).toBe(401);
    await call("users.revokeToken", { id: (tok.data.token as { id: string }).id }, { cookie });
    expect((await call("topology.get", undefined, { bearer: secret, query: true })).status).toBe(401);
  });

  it.each([
    ["users.setRole", (id: string) => ({ id, role: "operator" })],
    ["users.disable", (id: string) => ({ id })],
    ["users.createToken", (id: string) => ({ userId: id, name: "ci" })],
  ] as const)("%s on an unknown user id answers NOT_FOUND naming the id, audited", async (path, input) => {
    const cookie = await signIn("ada", "admin password 1");
    const nobody = randomUUID();
    const notFound = `user ${nobody} does not exist; the Admin page lists the users`;
    const r = await call(path, input(nobody), { cookie });
    expect(r.status).toBe(404);
    expect(r.error?.message).toBe(notFound);
    expect(r.error?.data?.appCode).toBe("NOT_FOUND");
    expect(await t.db.auditEvent.count({ where: { procedure: path, ok: false, error: notFound } })).toBe(1);
    expect(await t.db.apiToken.count({ where: { userId: nobody } })).toBe(0);
  });

  it("users.revokeToken on an unknown token id answers NOT_FOUND; a malformed id is explained", async () => {
    const cookie = await signIn("ada", "admin password 1");
    const token = randomUUID();
    const revoke = await call("users.revokeToken", { id: token }, { cookie });
    expect(revoke.status).toBe(404);
    expect(revoke.error?.message).toBe(`API token ${token} does not exist; the Admin page lists the tokens`);

    const malformed = await call("users.disable", { id: "42" }, { cookie });
    expect(malformed.status).toBe(400);
    expect(malformed.error?.message).toBe("id: a user id is a UUID, as listed on the Admin page");
  });

  it("refuses a token for a disabled user, and says revoking twice revoked nothing the second time", async () => {
    const cookie = await signIn("ada", "admin password 1");
    const dora = await call("users.create", { name: "dora", role: "viewer", password: "viewer password 2" }, { cookie });
    const tok = await call("users.createToken", { userId: dora.data.id, name: "dora's" }, { cookie });
    const tokenId = (tok.data.token as { id: string }).id;
    expect((await call("users.revokeToken", { id: tokenId }, { cookie })).data).toEqual({ revoked: true });
    expect((await call("users.revokeToken", { id: tokenId }, { cookie })).data).toEqual({ revoked: false });
    expect((await call("users.disable", { id: dora.data.id }, { cookie })).status).toBe(200);
    const refused = await call("users.createToken", { userId: dora.data.id, name: "again" }, { cookie });
    expect(refused.status).toBe(400);
    expect(refused.error?.message).toBe("user dora is disabled; a token acting as them would be refused");
    expect(await t.db.apiToken.count({ where: { userId: dora.data.id as string } })).toBe(1);
  });

  it("History filters operations by VM, host, operator, kind, status and time", async () => {
    const cookie = await signIn("vic", "viewer password 1");
    const search = async (f: Record<string, unknown>) =>
      (await call("operations.search", f, { cookie, query: true })).data as { total: number; items: { operator: string }[] };
    expect((await search({})).total).toBe(1);
    expect((await search({ vm: "HEAT-1" })).total).toBe(1);
    expect((await search({ vm: "crawler" })).total).toBe(0);
    expect((await search({ hostId: "pm-2" })).total).toBe(1);
    expect((await search({ hostId: "pm-3" })).total).toBe(0);
    expect((await search({ operator: "otto" })).items[0]?.operator).toBe("otto");
    expect((await search({ operator: "ada" })).total).toBe(0);
    expect((await search({ kind: "merge" })).total).toBe(0);
    expect((await search({ statuses: ["queued"] })).total).toBe(1);
    expect((await search({ statuses: ["succeeded"] })).total).toBe(0);
    expect((await search({ from: new Date(Date.now() + 60_000) })).total).toBe(0);
    const bad = await call("operations.search", { from: new Date(), to: new Date(Date.now() - 1000) }, { cookie, query: true });
    expect(bad.error?.message).toBe("to: the time range ends before it starts");
  });
});
