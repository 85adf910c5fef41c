import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UniqueViolation, hostCreate, userCreate } from "./index";
import { createTestDatabase, type TestDatabase } from "./testing";

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(() => t?.drop());

describe("UniqueViolation", () => {
  it("is what a repository throws for a duplicate user name, naming the table and constraint", async () => {
    await userCreate(t.db, { name: "otto", role: "viewer", passwordHash: "x" });
    const e = await userCreate(t.db, { name: "otto", role: "admin", passwordHash: "y" }).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(UniqueViolation);
    expect(UniqueViolation.is(e)).toBe(true);
    expect((e as UniqueViolation).code).toBe("UNIQUE_VIOLATION");
    expect(e).toMatchObject({ table: "users", constraint: "users_name_key" });
    expect((e as UniqueViolation).message).toBe("unique constraint violated in users (users_name_key)");
  });

  it("is what a repository throws for a duplicate host", async () => {
    const host = { id: "pm-dup", uri: "test:///default", vmQuota: 2, cpuOvercommit: 1, memoryOvercommit: 1 };
    await hostCreate(t.db, host);
    await expect(hostCreate(t.db, host)).rejects.toBeInstanceOf(UniqueViolation);
  });

  it("leaves other errors as they are", async () => {
    const e = await userCreate(t.db, { name: "x".repeat(10), role: "nobody" as never, passwordHash: "z" }).catch(
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(Error);
    expect(UniqueViolation.is(e)).toBe(false);
  });
});
