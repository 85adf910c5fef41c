import { randomUUID } from "node:crypto";
import { actorCreateMany, applicationUpsert, hostUpsert, userCreate, vmCreate } from "@malleo/db";
import { createTestDatabase, type TestDatabase } from "@malleo/db/admin";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashPassword } from "./auth/passwords";
import { httpCaller } from "./testing/http";

/** The transfer mode chosen in a split or merge request reaches the operation's input and its page. */
let t: TestDatabase;
const { call, signIn } = httpCaller(() => t.db);
let cookie = "";
const vms = [randomUUID(), randomUUID(), randomUUID()];

beforeAll(async () => {
  t = await createTestDatabase();
  for (const id of ["pm-1", "pm-2", "pm-3"])
    await hostUpsert(t.db, { id, uri: "test:///default", cpus: 16, memoryMiB: 32768, vmQuota: 8 });
  await applicationUpsert(t.db, { id: "heat", kind: "heat", config: {} });
  for (const [i, id] of vms.entries()) {
    await vmCreate(t.db, {
      id,
      name: `heat-${i + 1}`,
      hostId: "pm-1",
      applicationId: "heat",
      vcpus: 4,
      memoryMiB: 8192,
      state: "running",
    });
    await actorCreateMany(
      t.db,
      Array.from({ length: 4 }, (_, n) => ({
        uan: `uan://heat/slab-${i * 4 + n}`,
        applicationId: "heat",
        vmId: id,
        behavior: "heat-slab",
        ordinal: i * 4 + n,
      })),
    );
  }
  await userCreate(t.db, { name: "otto", role: "operator", passwordHash: await hashPassword("operator password 1") });
  cookie = await signIn("otto", "operator password 1");
});
afterAll(() => t?.drop());

async function submitted(path: string, input: unknown) {
  const r = await call(path, input, { cookie });
  expect(r.status, r.error?.message).toBe(200);
  const id = r.data.id as string;
  const stored = await t.db.operation.findUniqueOrThrow({ where: { id } });
  const page = await call("operations.get", { id }, { cookie, query: true });
  return { stored: (stored.input as { transfer?: string }).transfer, shown: page.data.transfer };
}

describe("transfer mode", () => {
  it("a split asked for barrier records barrier, and the operation page shows it", async () => {
    expect(
      await submitted("operations.split", { vmId: vms[0], count: 2, targetHostIds: ["pm-2", "pm-3"], transfer: "barrier" }),
    ).toEqual({ stored: "barrier", shown: "barrier" });
  });

  it("a merge that names no mode moves live", async () => {
    expect(await submitted("operations.merge", { vmIds: [vms[1], vms[2]], targetHostId: "pm-2" })).toEqual({
      stored: "live",
      shown: "live",
    });
  });

  it("refuses another mode, naming both", async () => {
    const before = await t.db.operation.count();
    const r = await call(
      "operations.split",
      { vmId: vms[0], count: 2, targetHostIds: ["pm-2", "pm-3"], transfer: "fast" },
      { cookie },
    );
    expect(r.status).toBe(400);
    expect(r.error?.message).toBe('transfer: transfer is "live" or "barrier"');
    expect(await t.db.operation.count()).toBe(before);
  });
});
