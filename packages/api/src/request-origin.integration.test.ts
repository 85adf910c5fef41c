import { userCreate } from "@malleo/db";
import { createTestDatabase, type TestDatabase } from "@malleo/db/admin";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashPassword } from "./auth/passwords";
import { createEventHub } from "./event-hub";
import { handleApiRequest, type ApiRequestOptions } from "./http";
import { httpCaller } from "./testing/http";
import { parseAllowedOrigins } from "./request-origin";

/**
 * Cross-site request forgery at the API boundary, against a real Postgres: a mutation sent by a
 * page on another origin is refused before it runs, and the session it targeted survives.
 */
let t: TestDatabase;
let cookie = "";

const api = httpCaller(() => t.db);
const base = "http://malleo.test:3000";
const post = (path: string, input: unknown, headers: Record<string, string | null>, origin?: ApiRequestOptions["origin"]) =>
  api.call(path, input, { base, headers: { host: "malleo.test:3000", ...headers }, handler: { origin } });

async function me() {
  const req = new Request("http://malleo.test:3000/api/trpc/auth.me", { headers: { host: "malleo.test:3000", cookie } });
  return (await handleApiRequest(req, { db: t.db, events: createEventHub("postgres://unused") })).status;
}

const json = { "content-type": "application/json" };

beforeAll(async () => {
  t = await createTestDatabase();
  await userCreate(t.db, { name: "olga", role: "admin", passwordHash: await hashPassword("admin password 1") });
  const r = await post("auth.signIn", { name: "olga", password: "admin password 1" }, json);
  expect(r.status, r.error?.message).toBe(200);
  cookie = r.setCookie!.split(";")[0]!;
});
afterAll(() => t?.drop());

describe("mutations from another origin", () => {
  it("a multipart form posted from another origin cannot sign the user out", async () => {
    const r = await post("auth.signOut", undefined, {
      cookie,
      origin: "https://evil.example",
      "sec-fetch-site": "cross-site",
      "content-type": "multipart/form-data; boundary=x",
    });
    expect(r.status).toBe(403);
    expect(r.error?.message).toMatch(/sent from another site \(Sec-Fetch-Site: cross-site\)/);
    expect(r.error?.data?.code).toBe("FORBIDDEN");
    expect(await me()).toBe(200);
  });

  it("refuses a foreign Origin even without Sec-Fetch-Site (older browsers), and the Origin 'null'", async () => {
    for (const origin of ["https://evil.example", "http://malleo.test:3001", "https://malleo.test:3000", "null"]) {
      const r = await post("auth.signOut", undefined, { ...json, cookie, origin });
      expect(r.status, origin).toBe(403);
      expect(r.error?.message).toContain("not from the Malleo console (http://malleo.test:3000)");
    }
    expect(await me()).toBe(200);
  });

  it("refuses Sec-Fetch-Site: same-site (a sibling subdomain) even with the right Origin", async () => {
    const r = await post("auth.signOut", undefined, {
      ...json,
      cookie,
      origin: "http://malleo.test:3000",
      "sec-fetch-site": "same-site",
    });
    expect(r.status).toBe(403);
    expect(await me()).toBe(200);
  });

  it("refuses text/plain and form bodies with 415 even from the console's origin", async () => {
    for (const type of ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=y"]) {
      const r = await post("auth.signOut", undefined, { cookie, origin: "http://malleo.test:3000", "content-type": type });
      expect(r.status, type).toBe(415);
      expect(r.error?.message).toMatch(/must be sent as application\/json/);
    }
    const none = await post("auth.signOut", undefined, { cookie, "content-type": null });
    expect(none.status).toBe(415);
    expect(await me()).toBe(200);
  });

  it("accepts the console's own requests, configured origins and requests without Origin (CLI)", async () => {
    const own = await post(
      "auth.signIn",
      { name: "olga", password: "admin password 1" },
      {
        ...json,
        origin: "http://malleo.test:3000",
        "sec-fetch-site": "same-origin",
      },
    );
    expect(own.status, own.error?.message).toBe(200);
    const allowed = parseAllowedOrigins("https://console.example.org, http://10.0.0.5:8080");
    const other = await post(
      "auth.signIn",
      { name: "olga", password: "admin password 1" },
      { ...json, origin: "https://console.example.org" },
      { allowedOrigins: allowed },
    );
    expect(other.status, other.error?.message).toBe(200);
    const cli = await post("auth.signIn", { name: "olga", password: "admin password 1" }, json);
    expect(cli.status).toBe(200);
    // A user's own typing in the address bar is Sec-Fetch-Site: none.
    const typed = await post(
      "auth.signIn",
      { name: "olga", password: "admin password 1" },
      { ...json, "sec-fetch-site": "none" },
    );
    expect(typed.status).toBe(200);
  });

  it("honours X-Forwarded-Host and -Proto only when the proxy is trusted", async () => {
    const headers = {
      ...json,
      origin: "https://malleo.example.com",
      "x-forwarded-host": "malleo.example.com",
      "x-forwarded-proto": "https",
    };
    const untrusted = await post("auth.signIn", { name: "olga", password: "admin password 1" }, headers);
    expect(untrusted.status).toBe(403);
    const trusted = await post("auth.signIn", { name: "olga", password: "admin password 1" }, headers, { trustProxy: true });
    expect(trusted.status, trusted.error?.message).toBe(200);
  });

  it("queries (GET) are not subject to the rule: cross-origin reads are blocked by the browser's CORS", async () => {
    const req = new Request("http://malleo.test:3000/api/trpc/auth.me", {
      headers: { host: "malleo.test:3000", cookie, origin: "https://evil.example", "sec-fetch-site": "cross-site" },
    });
    const res = await handleApiRequest(req, { db: t.db, events: createEventHub("postgres://unused") });
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
  });
});

describe("MALLEO_ALLOWED_ORIGINS", () => {
  it("rejects entries that are not origins, naming them", () => {
    expect(parseAllowedOrigins(undefined)).toEqual([]);
    expect(parseAllowedOrigins("HTTPS://Console.Example.org:443")).toEqual(["https://console.example.org"]);
    for (const bad of ["*", "console.example.org", "https://a.example/", "https://a.example/path", "ftp://a.example"])
      expect(() => parseAllowedOrigins(`https://ok.example,${bad}`), bad).toThrow(JSON.stringify(bad));
  });
});
