import type { Db } from "@malleo/db";
import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { describe, expect, it } from "vitest";
import { createEventHub } from "./event-hub";
import { appRouter } from "./root";
import type { AuthUser } from "./auth/authenticate";
import type { Context } from "./trpc";

/**
 * What a client sees over HTTP when a request is refused: the status, the readable message and
 * the domain code. The database is a stub that knows no VMs, so nothing here needs Postgres.
 */
const audited: { actor: string; procedure: string; ok: boolean }[] = [];
const emptyDb = {
  vm: { findMany: async () => [] },
  auditEvent: {
    create: async ({ data }: { data: { actor: string; procedure: string; ok: boolean } }) => audited.push(data),
  },
} as unknown as Db;
const operator: AuthUser = { id: "u-1", name: "olga", role: "operator", via: "session" };

async function post(path: string, json: unknown, user: AuthUser | null = operator) {
  const req = new Request(`http://localhost/api/trpc/${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ json }),
  });
  const res = await fetchRequestHandler({
    endpoint: "/api/trpc",
    req,
    router: appRouter,
    createContext: (): Context => ({ db: emptyDb, events: createEventHub("postgres://unused"), headers: req.headers, user }),
  });
  const body = (await res.json()) as { error: { json: { message: string; data: Record<string, unknown> } } };
  return { status: res.status, error: body.error.json };
}

describe("API errors over HTTP", () => {
  it("rejects a malformed split with 400 and says what would be accepted", async () => {
    const { status, error } = await post("operations.split", { vmId: "heat-1", count: 1, targetHostIds: ["pm-2"] });
    expect(status).toBe(400);
    expect(error.data.appCode).toBe("INVALID_INPUT");
    expect(error.message).toContain("vmId: a VM id is a UUID");
    expect(error.message).toContain("count: a split makes at least 2 VMs");
  });

  it("turns a domain refusal into its tRPC code with appCode and details", async () => {
    const vmId = "6f1d2c1e-8a43-4b4e-9c55-0d7a3f1e2b10";
    const { status, error } = await post("operations.split", { vmId, count: 2, targetHostIds: ["pm-2", "pm-3"] });
    expect(status).toBe(404);
    expect(error.data.code).toBe("NOT_FOUND");
    expect(error.data.appCode).toBe("NOT_FOUND");
    expect(error.data.details).toEqual({ vmId });
    expect(error.message).toBe(`VM ${vmId} does not exist or was deleted`);
  });

  it("rejects unknown fields in a merge", async () => {
    const { status, error } = await post("operations.merge", { vmIds: [], targetHostId: "pm-1", force: true });
    expect(status).toBe(400);
    expect(error.message).toMatch(/a merge needs at least 2 VMs/);
    expect(error.message).toMatch(/force/);
  });

  it("refuses a viewer's split with 403, names the role needed, and audits the attempt", async () => {
    audited.length = 0;
    const viewer: AuthUser = { id: "u-2", name: "vera", role: "viewer", via: "token" };
    const { status, error } = await post("operations.split", { vmId: "x", count: 2, targetHostIds: ["a", "b"] }, viewer);
    expect(status).toBe(403);
    expect(error.message).toBe("vera is a viewer; this needs the operator role — ask an admin");
    expect(audited).toEqual([expect.objectContaining({ actor: "vera", procedure: "operations.split", ok: false })]);
  });

  it("refuses an unauthenticated request with 401", async () => {
    const { status, error } = await post("operations.merge", { vmIds: [], targetHostId: "pm-1" }, null);
    expect(status).toBe(401);
    expect(error.message).toMatch(/sign in first/);
  });
});
