import { userCreate } from "@malleo/db";
import { createTestDatabase, type TestDatabase } from "@malleo/db/admin";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashPassword } from "./auth/passwords";
import { createEventHub } from "./event-hub";
import { handleApiRequest } from "./http";
import { httpCaller } from "./testing/http";

/** Passwords over their lifetime: a user changes their own, an admin resets and re-enables. */
let t: TestDatabase;
let admin = "";
let userId = "";

const api = httpCaller(() => t.db);
const call = (path: string, input: unknown, cookie = "", query = false) => api.call(path, input, { cookie, query });
const signIn = (name: string, password: string) => call("auth.signIn", { name, password });
const me = async (cookie: string) => (await call("auth.me", undefined, cookie, true)).status;

beforeAll(async () => {
  t = await createTestDatabase();
  await userCreate(t.db, { name: "olga", role: "admin", passwordHash: await hashPassword("admin password 1") });
  userId = (await userCreate(t.db, { name: "otto", role: "operator", passwordHash: await hashPassword("otto password 1") })).id;
  admin = (await signIn("olga", "admin password 1")).cookie;
});
afterAll(() => t?.drop());

describe("changing one's own password", () => {
  it("needs the current password, ends the other sessions and keeps this one", async () => {
    const here = (await signIn("otto", "otto password 1")).cookie;
    const elsewhere = (await signIn("otto", "otto password 1")).cookie;
    const wrong = await call("auth.changePassword", { currentPassword: "guess", newPassword: "otto password 2" }, here);
    expect(wrong.status).toBe(403);
    expect(wrong.message).toBe("the current password is wrong; nothing was changed");
    expect((await signIn("otto", "otto password 1")).status).toBe(200);
    const short = await call("auth.changePassword", { currentPassword: "otto password 1", newPassword: "short" }, here);
    expect(short.status).toBe(400);
    const ok = await call("auth.changePassword", { currentPassword: "otto password 1", newPassword: "otto password 2" }, here);
    expect(ok.status, ok.message).toBe(200);
    expect(await me(here)).toBe(200);
    expect(await me(elsewhere)).toBe(401);
    expect((await signIn("otto", "otto password 1")).status).toBe(401);
    expect((await signIn("otto", "otto password 2")).status).toBe(200);
    // The audit row does not keep either password.
    const [row] = await t.db.auditEvent.findMany({ where: { procedure: "auth.changePassword", ok: true }, take: 1 });
    expect(JSON.stringify(row?.input)).not.toContain("otto password");
  });

  it("is refused without a session", async () => {
    const r = await call("auth.changePassword", { currentPassword: "x", newPassword: "otto password 3" });
    expect(r.status).toBe(401);
  });
});

describe("an admin resets a password and re-enables a user", () => {
  it("a reset ends the user's sessions; the new password works", async () => {
    const otto = (await signIn("otto", "otto password 2")).cookie;
    const r = await call("users.resetPassword", { id: userId, password: "reset password 1" }, admin);
    expect(r.status, r.message).toBe(200);
    expect(await me(otto)).toBe(401);
    expect((await signIn("otto", "reset password 1")).status).toBe(200);
    const self = await call(
      "users.resetPassword",
      { id: (await call("auth.me", undefined, admin, true)).data.id, password: "x".repeat(12) },
      admin,
    );
    expect(self.status).toBe(400);
    const notAdmin = await call(
      "users.resetPassword",
      { id: userId, password: "y".repeat(12) },
      (await signIn("otto", "reset password 1")).cookie,
    );
    expect(notAdmin.status).toBe(403);
  });

  it("a disabled user cannot sign in until re-enabled", async () => {
    expect((await call("users.disable", { id: userId }, admin)).status).toBe(200);
    expect((await signIn("otto", "reset password 1")).status).toBe(401);
    const r = await call("users.enable", { id: userId }, admin);
    expect(r.status, r.message).toBe(200);
    expect(r.data.disabledAt).toBeNull();
    expect((await signIn("otto", "reset password 1")).status).toBe(200);
  });
});

describe("lifetimes", () => {
  it("a session ends a week after sign-in however much it is used, and slides no further", async () => {
    const cookie = (await signIn("olga", "admin password 1")).cookie;
    const hash = (await t.db.session.findMany({ orderBy: { createdAt: "desc" }, take: 1 }))[0]!.tokenHash;
    // Used a minute ago, signed in six days and 23 hours ago: still valid, and the slide stops at the week.
    const now = Date.now();
    await t.db.session.update({
      where: { tokenHash: hash },
      data: { createdAt: new Date(now - 6 * 86_400_000 - 23 * 3_600_000), lastSeenAt: new Date(now - 120_000) },
    });
    expect(await me(cookie)).toBe(200);
    const s = await t.db.session.findUniqueOrThrow({ where: { tokenHash: hash } });
    expect(s.expiresAt.getTime()).toBe(s.createdAt.getTime() + 7 * 86_400_000);
    await t.db.session.update({ where: { tokenHash: hash }, data: { createdAt: new Date(now - 7 * 86_400_000 - 1_000) } });
    expect(await me(cookie)).toBe(401);
    expect(await t.db.session.count({ where: { tokenHash: hash } })).toBe(0);
  });

  it("an API token with an expiry works until then; one without works until revoked", async () => {
    const bearer = async (secret: string) => {
      const req = new Request("http://localhost/api/trpc/auth.me", { headers: { authorization: `Bearer ${secret}` } });
      return (await handleApiRequest(req, { db: t.db, events: createEventHub("postgres://unused") })).status;
    };
    const expiring = await call("users.createToken", { userId, name: "ci", expiresInDays: 30 }, admin);
    expect(expiring.status, expiring.message).toBe(200);
    const token = expiring.data.token as { id: string; expiresAt: Date };
    expect(token.expiresAt.getTime()).toBeGreaterThan(Date.now() + 29 * 86_400_000);
    const forever = await call("users.createToken", { userId, name: "cron" }, admin);
    expect((forever.data.token as { expiresAt: Date | null }).expiresAt).toBeNull();
    expect(await bearer(expiring.data.secret as string)).toBe(200);
    await t.db.apiToken.update({ where: { id: token.id }, data: { expiresAt: new Date(Date.now() - 1_000) } });
    expect(await bearer(expiring.data.secret as string)).toBe(401);
    expect(await bearer(forever.data.secret as string)).toBe(200);
    const bad = await call("users.createToken", { userId, name: "x", expiresInDays: 0 }, admin);
    expect(bad.status).toBe(400);
  });
});
