// The hostile phase, part (b): a table of hostile inputs at every API procedure that takes text,
// sent through handleApiRequest against a real Postgres. Each must be refused with a 4xx that
// says why — never a 5xx — nothing may change, and History must still load afterwards.
import { randomUUID } from "node:crypto";
import { writeFileSync } from "node:fs";
import superjson from "superjson";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applicationUpsert, hostUpsert, userCreate, vmCreate } from "@malleo/db";
import { createTestDatabase, type TestDatabase } from "@malleo/db/admin";
import { hashPassword } from "../../packages/api/src/auth/passwords";
import { createEventHub } from "../../packages/api/src/event-hub";
import { handleApiRequest } from "../../packages/api/src/http";
import { httpCaller } from "../../packages/api/src/testing/http";
import { hostileReportPath } from "./report";

let t: TestDatabase;
let cookie = "";
const vmId = randomUUID();

interface Reply {
  status: number;
  message: string;
  data: unknown;
}

const api = httpCaller(() => t.db);
async function send(procedure: string, body: string, query: boolean): Promise<Reply> {
  const r = await api.call(procedure, undefined, { cookie, query, rawBody: body });
  return { status: r.status, message: r.message ?? "", data: r.data };
}

const call = (procedure: string, input: unknown, query = false) =>
  send(procedure, JSON.stringify(superjson.serialize(input)), query);

/** Procedures that take text, a valid base input, and which fields are text (or lists of text). */
interface Target {
  procedure: string;
  query?: boolean;
  base: () => Record<string, unknown>;
  fields: Array<{ name: string; list?: boolean; id?: boolean }>;
}

const TARGETS: Target[] = [
  {
    procedure: "auth.signIn",
    base: () => ({ name: "olga", password: "wrong password 1" }),
    fields: [{ name: "name" }, { name: "password" }],
  },
  {
    procedure: "hosts.register",
    base: () => ({ name: "pm-new", uri: "qemu+ssh://pm-new/system", vmQuota: 1 }),
    fields: [{ name: "name" }, { name: "uri" }],
  },
  { procedure: "hosts.update", base: () => ({ id: "pm-1", vmQuota: 3 }), fields: [{ name: "id", id: true }] },
  { procedure: "hosts.remove", base: () => ({ id: "pm-2" }), fields: [{ name: "id", id: true }] },
  {
    procedure: "operations.split",
    base: () => ({ vmId, count: 2, targetHostIds: ["pm-1", "pm-2"] }),
    fields: [
      { name: "vmId", id: true },
      { name: "targetHostIds", list: true },
    ],
  },
  {
    procedure: "operations.merge",
    base: () => ({ vmIds: [vmId, randomUUID()], targetHostId: "pm-1" }),
    fields: [
      { name: "vmIds", list: true },
      { name: "targetHostId", id: true },
    ],
  },
  { procedure: "operations.cancel", base: () => ({ id: randomUUID() }), fields: [{ name: "id", id: true }] },
  {
    procedure: "operations.decideReadyTimeout",
    base: () => ({ id: randomUUID(), decision: "abort" }),
    fields: [{ name: "id", id: true }, { name: "decision" }],
  },
  { procedure: "operations.get", query: true, base: () => ({ id: randomUUID() }), fields: [{ name: "id", id: true }] },
  {
    procedure: "users.create",
    base: () => ({ name: "nina", password: "a long enough password", role: "viewer" }),
    fields: [{ name: "name" }, { name: "password" }, { name: "role" }],
  },
  {
    procedure: "users.setRole",
    base: () => ({ id: randomUUID(), role: "viewer" }),
    fields: [{ name: "id", id: true }, { name: "role" }],
  },
  { procedure: "users.disable", base: () => ({ id: randomUUID() }), fields: [{ name: "id", id: true }] },
  {
    procedure: "users.createToken",
    base: () => ({ userId: randomUUID(), name: "ci" }),
    fields: [{ name: "userId", id: true }, { name: "name" }],
  },
  { procedure: "users.revokeToken", base: () => ({ id: randomUUID() }), fields: [{ name: "id", id: true }] },
];

type Variant = { label: string; value?: () => unknown; raw?: (target: Target, field: string) => string };

const nest = (depth: number): unknown => (depth === 0 ? "x" : { a: nest(depth - 1) });

const VARIANTS: Variant[] = [
  { label: "NUL character", value: () => "pm\u0000-1" },
  { label: "C1 control", value: () => "pm\u0085-1" },
  { label: "bidi override", value: () => "pm-\u202e1-mp" },
  { label: "bidi isolate", value: () => "\u2066pm-1\u2069" },
  { label: "DEL", value: () => "pm\u007f" },
  { label: "oversize string", value: () => "x".repeat(5_000) },
  { label: "oversize list", value: () => Array.from({ length: 1_001 }, () => "pm-1") },
  { label: "deep nesting", value: () => nest(12) },
  { label: "wrong type: number", value: () => 42 },
  { label: "wrong type: object", value: () => ({ name: "pm-1" }) },
  { label: "wrong type: null", value: () => null },
  {
    label: "__proto__ key",
    raw: (target, field) => rawWith(target, field, `{"__proto__":{"polluted":true}}`),
  },
  {
    label: "constructor key",
    raw: (target, field) => rawWith(target, field, `{"constructor":{"prototype":{"polluted":true}}}`),
  },
  { label: "unknown id", value: () => "no-such-thing-0" },
];

/** The base input with `field` replaced by raw JSON text (keys superjson would drop). */
function rawWith(target: Target, field: string, json: string): string {
  const base = JSON.stringify({ json: { ...target.base(), [field]: "__HOLE__" } });
  return base.replace('"__HOLE__"', json);
}

async function counts() {
  return {
    operations: await t.db.operation.count(),
    users: await t.db.user.count(),
    hosts: await t.db.host.findMany({ orderBy: { id: "asc" } }),
    vms: await t.db.vm.findMany({ orderBy: { id: "asc" } }),
    tokens: await t.db.apiToken.count(),
  };
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
  const headers = new Headers({ "content-type": "application/json" });
  const res = await handleApiRequest(
    new Request("http://localhost/api/trpc/auth.signIn", {
      method: "POST",
      headers,
      body: JSON.stringify(superjson.serialize({ name: "olga", password: "admin password 1" })),
    }),
    { db: t.db, events: createEventHub("postgres://unused") },
  );
  cookie = res.headers.get("set-cookie")!.split(";")[0]!;
});
afterAll(() => t?.drop());

describe("hostile API inputs", () => {
  it("every hostile input is refused with a 4xx that says why, nothing changes, History still loads", async () => {
    const before = await counts();
    const outcomes: Array<{ procedure: string; field: string; variant: string; status: number; message: string }> = [];
    for (const target of TARGETS) {
      for (const field of target.fields) {
        for (const variant of VARIANTS) {
          if (variant.label === "unknown id" && !field.id) continue; // a made-up name would be valid input
          const reply = variant.raw
            ? await send(target.procedure, variant.raw(target, field.name), target.query === true)
            : await call(
                target.procedure,
                {
                  ...target.base(),
                  [field.name]: field.list && variant.label !== "oversize list" ? [variant.value!()] : variant.value!(),
                },
                target.query === true,
              );
          outcomes.push({ procedure: target.procedure, field: field.name, variant: variant.label, ...reply });
        }
      }
    }
    const serverErrors = outcomes.filter((o) => o.status >= 500);
    const unclear = outcomes.filter(
      (o) =>
        o.status < 400 || o.status >= 500 || o.message.trim().length < 8 || /internal server error|prisma|stack/i.test(o.message),
    );
    const refusedCleanly = outcomes.length - unclear.length;
    writeFileSync(
      hostileReportPath("api"),
      JSON.stringify({
        inputs: outcomes.length,
        refusedCleanly,
        serverErrors: serverErrors.length,
        unclear: unclear.slice(0, 20),
        // One in 20, to read what a refusal says.
        samples: outcomes
          .filter((_, i) => i % 20 === 0)
          .map((o) => `${o.procedure}.${o.field} ${o.variant}: ${o.status} ${o.message}`),
      }),
    );
    expect(outcomes.length).toBeGreaterThanOrEqual(200);
    expect(serverErrors).toEqual([]);
    expect(unclear).toEqual([]);

    // Nothing changed.
    expect(await counts()).toEqual(before);
    // History still loads.
    const audit = await call("audit.list", { page: 1, pageSize: 500 }, true);
    expect(audit.status, audit.message).toBe(200);
    const search = await call("operations.search", {}, true);
    expect(search.status, search.message).toBe(200);
    const split = await call("operations.split", { vmId, count: 2, targetHostIds: ["pm-1", "pm-2"] });
    expect(split.status, split.message).toBe(200);
    const id = (split.data as { id: string }).id;
    const got = await call("operations.get", { id }, true);
    expect(got.status, got.message).toBe(200);
  });
});
