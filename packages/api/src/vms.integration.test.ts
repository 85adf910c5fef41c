import { randomUUID } from "node:crypto";
import { actorCreateMany, applicationUpsert, cpuSampleInsertMany, hostUpsert, userCreate, vmCreate } from "@malleo/db";
import { createTestDatabase, type TestDatabase } from "@malleo/db/admin";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashPassword } from "./auth/passwords";
import { httpCaller } from "./testing/http";

/** vms.get: a VM's page — its resources, host, application, actors (windowed), CPU and operations. */
let t: TestDatabase;
const { call, signIn } = httpCaller(() => t.db);
let viewer = "";
const source = randomUUID();
const target = randomUUID();
const other = randomUUID();
const older = randomUUID();
const newer = randomUUID();
const unrelated = randomUUID();

const plan = (sources: { id: string; name: string }[], targets: { id: string; name: string }[]) => ({
  kind: "split",
  applicationId: "heat",
  sources: sources.map((s) => ({ ...s, hostId: "pm-1" })),
  targets: targets.map((x) => ({ ...x, hostId: "pm-2", vcpus: 1, memoryMiB: 512, actors: [] })),
});

beforeAll(async () => {
  t = await createTestDatabase();
  await hostUpsert(t.db, { id: "pm-1", uri: "test:///default", cpus: 16, memoryMiB: 32768, vmQuota: 4 });
  await hostUpsert(t.db, { id: "pm-2", uri: "test:///default", cpus: 16, memoryMiB: 32768, vmQuota: 4 });
  await applicationUpsert(t.db, { id: "heat", kind: "heat", config: {} });
  await vmCreate(t.db, {
    id: source,
    name: "heat-1",
    hostId: "pm-1",
    applicationId: "heat",
    vcpus: 2,
    memoryMiB: 1024,
    state: "deleted",
  });
  await vmCreate(t.db, {
    id: target,
    name: "heat-2",
    hostId: "pm-2",
    applicationId: "heat",
    vcpus: 1,
    memoryMiB: 512,
    state: "running",
  });
  await vmCreate(t.db, {
    id: other,
    name: "heat-3",
    hostId: "pm-2",
    applicationId: "heat",
    vcpus: 1,
    memoryMiB: 512,
    state: "running",
  });
  await actorCreateMany(
    t.db,
    Array.from({ length: 7 }, (_, i) => ({
      uan: `uan://heat/a-${i}`,
      applicationId: "heat",
      vmId: target,
      behavior: "b",
      ordinal: i,
    })),
  );
  const at = (s: number) => new Date(Date.UTC(2026, 10, 1, 12, 0, s));
  await t.db.operation.create({
    data: {
      id: older,
      kind: "split",
      status: "succeeded",
      input: {},
      operator: "ada",
      createdAt: at(0),
      plan: plan(
        [{ id: source, name: "heat-1" }],
        [
          { id: target, name: "heat-2" },
          { id: other, name: "heat-3" },
        ],
      ),
    },
  });
  await t.db.operation.create({
    data: {
      id: newer,
      kind: "merge",
      status: "rolled_back",
      input: {},
      operator: "bob",
      createdAt: at(30),
      plan: plan(
        [
          { id: target, name: "heat-2" },
          { id: other, name: "heat-3" },
        ],
        [{ id: randomUUID(), name: "heat-4" }],
      ),
    },
  });
  // Names the VM only by a substring of its name: not the VM's operation.
  await t.db.operation.create({
    data: {
      id: unrelated,
      kind: "split",
      status: "succeeded",
      input: {},
      operator: "ada",
      createdAt: at(40),
      plan: plan([{ id: randomUUID(), name: "heat-2x" }], []),
    },
  });
  await cpuSampleInsertMany(t.db, [
    { vmId: target, at: new Date(Date.now() - 20_000), cpuPercent: 40 },
    { vmId: target, at: new Date(Date.now() - 10_000), cpuPercent: 60 },
    { vmId: other, at: new Date(Date.now() - 10_000), cpuPercent: 99 },
    { vmId: target, at: new Date(Date.now() - 2 * 3600_000), cpuPercent: 5 },
  ]);
  await userCreate(t.db, { name: "vic", role: "viewer", passwordHash: await hashPassword("viewer password 1") });
  viewer = await signIn("vic", "viewer password 1");
});
afterAll(() => t?.drop());

type Detail = {
  name: string;
  vcpus: number;
  memoryMiB: number;
  state: string;
  host: { id: string };
  application: { id: string };
  actors: { total: number; offset: number; items: { ordinal: number }[] };
  operations: { id: string }[];
};

describe("vms.get", () => {
  it("lets a viewer read a VM: resources, host, application, actors and its operations newest first", async () => {
    const r = await call("vms.get", { id: target }, { cookie: viewer, query: true });
    expect(r.status).toBe(200);
    const vm = r.data as Detail;
    expect([vm.name, vm.vcpus, vm.memoryMiB, vm.state, vm.host.id, vm.application.id]).toEqual([
      "heat-2",
      1,
      512,
      "running",
      "pm-2",
      "heat",
    ]);
    expect(vm.actors.total).toBe(7);
    expect(vm.actors.items.map((a) => a.ordinal)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(vm.operations.map((o) => o.id)).toEqual([newer, older]);
  });

  it("vms.cpu gives the VM's own samples of the window, oldest first; NOT_FOUND for an unknown VM", async () => {
    const r = await call("vms.cpu", { id: target, minutes: 30 }, { cookie: viewer, query: true });
    expect(r.status).toBe(200);
    expect((r.data as unknown as { cpuPercent: number }[]).map((s) => s.cpuPercent)).toEqual([40, 60]);
    const all = (await call("vms.cpu", { id: target, minutes: 180 }, { cookie: viewer, query: true })).data as unknown as {
      cpuPercent: number;
    }[];
    expect(all.map((s) => s.cpuPercent)).toEqual([5, 40, 60]);
    const missing = randomUUID();
    const gone = await call("vms.cpu", { id: missing }, { cookie: viewer, query: true });
    expect(gone.status).toBe(404);
    expect(gone.error?.message).toBe(`VM ${missing} does not exist`);
    expect((await call("vms.cpu", { id: target, minutes: 0 }, { cookie: viewer, query: true })).error?.message).toMatch(
      /minutes is 1 to 1440/,
    );
  });

  it("windows the actors by ordinal", async () => {
    const vm = (await call("vms.get", { id: target, actorsOffset: 2, actorsLimit: 3 }, { cookie: viewer, query: true }))
      .data as Detail;
    expect(vm.actors).toMatchObject({ total: 7, offset: 2 });
    expect(vm.actors.items.map((a) => a.ordinal)).toEqual([2, 3, 4]);
  });

  it("still shows a deleted VM with its history", async () => {
    const vm = (await call("vms.get", { id: source }, { cookie: viewer, query: true })).data as Detail;
    expect(vm.state).toBe("deleted");
    expect(vm.actors.total).toBe(0);
    expect(vm.operations.map((o) => o.id)).toEqual([older]);
  });

  it("answers NOT_FOUND naming an unknown id, and a clear refusal for a malformed one", async () => {
    const missing = randomUUID();
    const r = await call("vms.get", { id: missing }, { cookie: viewer, query: true });
    expect(r.status).toBe(404);
    expect(r.error?.message).toBe(`VM ${missing} does not exist`);
    expect(r.error?.data?.appCode).toBe("NOT_FOUND");
    const bad = await call("vms.get", { id: "heat-2" }, { cookie: viewer, query: true });
    expect(bad.status).toBe(400);
    expect(bad.error?.message).toMatch(/a VM id is a UUID/);
    const limit = await call("vms.get", { id: target, actorsLimit: 501 }, { cookie: viewer, query: true });
    expect(limit.status).toBe(400);
    expect(limit.error?.message).toMatch(/actorsLimit is 1 to 500/);
  });

  it("refuses without a session", async () => {
    expect((await call("vms.get", { id: target }, { query: true })).status).toBe(401);
  });
});
