import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AppError } from "@malleo/core";
import { applicationUpsert, hostUpsert, operationCreateWithLocks, vmCreate } from "./index";
import { createTestDatabase, type TestDatabase } from "./testing";

let t: TestDatabase;
const vmId = randomUUID();

beforeAll(async () => {
  t = await createTestDatabase();
  await hostUpsert(t.db, { id: "pm-1", uri: "test:///default", cpus: 16, memoryMiB: 32768, vmQuota: 4 });
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
});
afterAll(() => t?.drop());

describe("operation locks", () => {
  it("accepts exactly one of 50 concurrent conflicting operations and names the holder in each refusal", async () => {
    const attempts = await Promise.allSettled(
      Array.from({ length: 50 }, () =>
        operationCreateWithLocks(t.db, { id: randomUUID(), kind: "split", input: {}, plan: {}, vmIds: [vmId], operator: "test" }),
      ),
    );
    const accepted = attempts.filter((a) => a.status === "fulfilled");
    const refused = attempts.filter((a): a is PromiseRejectedResult => a.status === "rejected");
    expect(accepted).toHaveLength(1);
    expect(refused).toHaveLength(49);
    const holder = (accepted[0] as PromiseFulfilledResult<{ id: string }>).value.id;
    for (const r of refused) {
      expect(AppError.is(r.reason)).toBe(true);
      expect((r.reason as AppError).code).toBe("VM_LOCKED");
      expect((r.reason as AppError).message).toContain(holder);
    }
    // The refused transactions left nothing behind.
    expect(await t.db.operation.count()).toBe(1);
  });
});
