import { userCreate } from "@malleo/db";
import { createTestDatabase, type TestDatabase } from "@malleo/db/admin";
import superjson from "superjson";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashPassword } from "./auth/passwords";
import type { SignInThrottle } from "./auth/throttle";
import { createEventHub } from "./event-hub";
import { handleApiRequest } from "./http";
import { httpCaller } from "./testing/http";

/**
 * Sign-in throttling against a real Postgres. The window's clock is the test's: it is moved
 * forward instead of waiting, so nothing here depends on how fast the machine is.
 */
let t: TestDatabase;
let clock = new Date("2026-12-01T09:00:00Z");
const throttle: SignInThrottle = { perAccount: 3, perClient: 6, windowMs: 60_000, now: () => clock };

const api = httpCaller(() => t.db);
async function signIn(name: string, password: string, headers: Record<string, string> = {}, trustProxy = false) {
  const r = await api.call(
    "auth.signIn",
    { name, password },
    { headers, handler: { signInThrottle: throttle, origin: { trustProxy } } },
  );
  return { status: r.status, message: r.message, retryAfter: r.headers.get("retry-after") };
}

beforeAll(async () => {
  t = await createTestDatabase();
  for (const name of ["olga", "otto", "ida", "ulla"])
    await userCreate(t.db, { name, role: "operator", passwordHash: await hashPassword(`${name} password 1`) });
});
afterAll(() => t?.drop());

describe("sign-in throttling", () => {
  it("after N wrong passwords: 429 with Retry-After, the right password refused too; after the window it works", async () => {
    for (let i = 0; i < 3; i++) expect((await signIn("olga", "wrong")).status).toBe(401);
    const locked = await signIn("olga", "wrong");
    expect(locked.status).toBe(429);
    expect(locked.message).toBe("too many sign-in attempts; try again in 60 s");
    expect(locked.retryAfter).toBe("60");
    clock = new Date(clock.getTime() + 20_000);
    const right = await signIn("olga", "olga password 1");
    expect(right.status).toBe(429);
    expect(right.retryAfter).toBe("40");
    // Another account is not locked by olga's.
    expect((await signIn("otto", "otto password 1")).status).toBe(200);
    clock = new Date(clock.getTime() + 40_000);
    expect((await signIn("olga", "olga password 1")).status).toBe(200);
  });

  it("a right password clears the account's count", async () => {
    clock = new Date(clock.getTime() + 120_000);
    expect((await signIn("otto", "wrong")).status).toBe(401);
    expect((await signIn("otto", "wrong")).status).toBe(401);
    expect((await signIn("otto", "otto password 1")).status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await signIn("otto", "wrong")).status).toBe(401);
    expect((await signIn("otto", "wrong")).status).toBe(429);
  });

  it("a burst of parallel attempts gets no more than the limit past the count", async () => {
    clock = new Date(clock.getTime() + 120_000);
    const results = await Promise.all(Array.from({ length: 10 }, () => signIn("ida", "wrong")));
    expect(results.filter((r) => r.status === 401)).toHaveLength(3);
    expect(results.filter((r) => r.status === 429)).toHaveLength(7);
  });

  it("limits a client across accounts; X-Forwarded-For counts only when the proxy is trusted", async () => {
    clock = new Date(clock.getTime() + 120_000);
    const from = (ip: string) => ({ "x-forwarded-for": `198.51.100.7, ${ip}` });
    // Six wrong attempts from one address, spread over accounts that stay under their own limit.
    for (const name of ["u1", "u2", "u3"])
      for (let i = 0; i < 2; i++) expect((await signIn(name, "wrong", from("203.0.113.9"), true)).status).toBe(401);
    const seventh = await signIn("ulla", "ulla password 1", from("203.0.113.9"), true);
    expect(seventh.status).toBe(429);
    // Another address (the last entry, the one the trusted proxy added) still signs in.
    expect((await signIn("ulla", "ulla password 1", from("203.0.113.10"), true)).status).toBe(200);
    // Untrusted, the header is ignored: all such clients share one count, which is still fresh.
    expect((await signIn("ulla", "ulla password 1", from("203.0.113.9"))).status).toBe(200);
  });

  it("refuses a batch carrying more than one auth.signIn with 400 before any password is checked", async () => {
    clock = new Date(clock.getTime() + 120_000);
    const before = await t.db.signInThrottle.count();
    const one = superjson.serialize({ name: "ulla", password: "wrong" });
    const req = new Request("http://localhost/api/trpc/auth.signIn,auth.signIn,auth.signIn?batch=1", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ "0": one, "1": one, "2": one }),
    });
    const res = await handleApiRequest(req, { db: t.db, events: createEventHub("postgres://unused"), signInThrottle: throttle });
    expect(res.status).toBe(400);
    const json = (await res.json()) as { error: { json: { message: string } } }[];
    expect(json).toHaveLength(3);
    expect(json[0]?.error.json.message).toBe(
      "one password check per request: a batch may carry auth.signIn or auth.changePassword only once",
    );
    // Nothing was counted: no attempt reached the throttle, let alone scrypt.
    expect(await t.db.signInThrottle.count()).toBe(before);
    const mixed = new Request("http://localhost/api/trpc/auth.signIn,auth.changePassword?batch=1", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ "0": one, "1": superjson.serialize({ currentPassword: "a", newPassword: "b".repeat(12) }) }),
    });
    expect((await handleApiRequest(mixed, { db: t.db, events: createEventHub("postgres://unused") })).status).toBe(400);
  });
});
