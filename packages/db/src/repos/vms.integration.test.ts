import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../admin";
import { applicationUpsert } from "./applications";
import { hostUpsert } from "./hosts";
import { vmCreate, vmTransition } from "./vms";
import { theaterSecretsLoad, theaterSecretsSave } from "./workers";

let t: TestDatabase;
const secrets = { boot: Buffer.alloc(32, 1), accepted: [Buffer.alloc(32, 2)] };

beforeAll(async () => {
  t = await createTestDatabase();
  await hostUpsert(t.db, { id: "pm-1", uri: "test:///default", cpus: 8, memoryMiB: 8192, vmQuota: 8 });
  await applicationUpsert(t.db, { id: "heat", kind: "heat", config: {} });
});
afterAll(() => t?.drop());

async function vmWithSecrets(name: string): Promise<string> {
  const id = randomUUID();
  await vmCreate(t.db, { id, name, hostId: "pm-1", applicationId: "heat", vcpus: 1, memoryMiB: 512, state: "running" });
  await theaterSecretsSave(t.db, id, secrets);
  return id;
}

describe("a VM's theater secrets", () => {
  it("are forgotten when the VM becomes deleted, and kept while it lives", async () => {
    const gone = await vmWithSecrets("gone-1");
    const alive = await vmWithSecrets("alive-1");
    expect(await vmTransition(t.db, gone, "deleting")).toBe(true);
    expect(await theaterSecretsLoad(t.db, gone)).toEqual(secrets); // deleting is not deleted yet
    expect(await vmTransition(t.db, gone, "deleted")).toBe(true);
    expect(await theaterSecretsLoad(t.db, gone)).toBeNull();
    expect(await t.db.clusterKey.count({ where: { name: `theater-secrets:${gone}` } })).toBe(0);
    expect(await theaterSecretsLoad(t.db, alive)).toEqual(secrets);
  });

  it("are forgotten by a repeated transition that finds the VM deleted already (a resumed step)", async () => {
    const id = await vmWithSecrets("resumed-1");
    await vmTransition(t.db, id, "deleting");
    await vmTransition(t.db, id, "deleted");
    await theaterSecretsSave(t.db, id, secrets); // as if written by a step that raced the delete
    expect(await vmTransition(t.db, id, "deleted")).toBe(false);
    expect(await theaterSecretsLoad(t.db, id)).toBeNull();
  });
});
