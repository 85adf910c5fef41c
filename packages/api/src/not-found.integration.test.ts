import { randomUUID } from "node:crypto";
import { hostUpsert, userCreate } from "@malleo/db";
import { createTestDatabase, type TestDatabase } from "@malleo/db/admin";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashPassword } from "./auth/passwords";
import { httpCaller } from "./testing/http";

/**
 * Every procedure that names a thing by id answers 404 NOT_FOUND with a sentence naming the id
 * when nothing has that id — never a 500 or an empty success. (users.* are in
 * access.integration.test.ts, operations.decideReadyTimeout in ready-decision.integration.test.ts.)
 */
let t: TestDatabase;
const { call, signIn } = httpCaller(() => t.db);
let admin = "";
const missing = randomUUID();

beforeAll(async () => {
  t = await createTestDatabase();
  await hostUpsert(t.db, { id: "pm-1", uri: "test:///default", cpus: 16, memoryMiB: 32768, vmQuota: 4 });
  await userCreate(t.db, { name: "ada", role: "admin", passwordHash: await hashPassword("admin password 1") });
  admin = await signIn("ada", "admin password 1");
});
afterAll(() => t?.drop());

const cases: [path: string, input: unknown, message: string, query?: boolean][] = [
  ["operations.get", { id: missing }, `operation ${missing} does not exist`, true],
  [
    "operations.list",
    { cursor: missing },
    `operation ${missing} (the cursor) does not exist; start again from the first page`,
    true,
  ],
  ["operations.cancel", { id: missing }, `operation ${missing} does not exist`],
  ["vms.get", { id: missing }, `VM ${missing} does not exist`, true],
  ["vms.cpu", { id: missing }, `VM ${missing} does not exist`, true],
  [
    "operations.split",
    { vmId: missing, count: 2, targetHostIds: ["pm-1", "pm-1"] },
    `VM ${missing} does not exist or was deleted`,
  ],
  ["operations.merge", { vmIds: [missing, randomUUID()], targetHostId: "pm-1" }, `VM ${missing} does not exist or was deleted`],
  ["hosts.update", { id: "pm-zz", vmQuota: 2 }, "host pm-zz is not registered; the hosts list shows which are"],
  ["hosts.remove", { id: "pm-zz" }, "host pm-zz is not registered; the hosts list shows which are"],
  [
    "applications.communication",
    { applicationId: "app-zz" },
    "application app-zz does not exist; the topology lists the applications",
    true,
  ],
];

describe("unknown ids", () => {
  it.each(cases)("%s answers NOT_FOUND", async (path, input, message, query) => {
    const r = await call(path, input, { cookie: admin, query });
    expect(r.status).toBe(404);
    expect(r.error?.message).toBe(message);
    expect(r.error?.data?.appCode).toBe("NOT_FOUND");
  });
});
