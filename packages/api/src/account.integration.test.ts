import { userCreate } from "@malleo/db";
import { createTestDatabase, type TestDatabase } from "@malleo/db/admin";
import superjson from "superjson";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashPassword } from "./auth/passwords";
import { createEventHub } from "./event-hub";
import { handleApiRequest } from "./http";

/** Passwords over their lifetime: a user changes their own, an admin resets and re-enables. */
let t: TestDatabase;
let admin = "";
let userId = "";

async function call(path: string, input: unknown, cookie = "", query = false) {
  const body = JSON.stringify(superjson.serialize(input));
  const req = new Request(`http://localhost/api/trpc/${path}${query ? `?input=${encodeURIComponent(body)}` : ""}`, {
    method: query ? "GET" : "POST",
    headers: { "content-type": "application/json", cookie },
    ...(query ? {} : { body }),
  });
  const res = await handleApiRequest(req, { db: t.db, events: createEventHub("postgres://unused") });
  const json = (await res.json()) as { result?: { data: unknown }; error?: { json: { message: string } } };
  const data = (json.result ? superjson.deserialize(json.result.data as never) : undefined) as Record<string, unknown>;
  return {
    status: res.status,
    data,
    message: json.error?.json.message,
    cookie: res.headers.get("set-cookie")?.split(";")[0] ?? "",
  };
}
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
