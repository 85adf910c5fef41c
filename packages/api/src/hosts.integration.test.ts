import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { actorCreateMany, applicationUpsert, hostUpsert, vmCreate, vmTransition } from "@malleo/db";
import { createTestDatabase, type TestDatabase } from "@malleo/db/admin";
import type { OperationPlan } from "@malleo/core";
import { reserveTargets } from "@malleo/workflows";
import { simulatedHostFile } from "@malleo/hypervisor";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Role } from "./auth/roles";
import { describeInputIssues } from "./errors";
import { createEventHub } from "./event-hub";
import { probeHostThroughWorker } from "./host-probe";
import { createCaller } from "./root";

/**
 * Hosts registered, changed and removed through the API against a real Postgres: roles, input
 * validation, the in-use refusals, the audit trail, and overcommit ratios taking effect both
 * when an operation is accepted and when its targets are reserved at creation time.
 */
let t: TestDatabase;
let dir: string;
const heatVm = randomUUID();
const busyB = randomUUID();
const busyB2 = randomUUID();

beforeAll(async () => {
  t = await createTestDatabase();
  dir = mkdtempSync(path.join(os.tmpdir(), "malleo-hosts-api-"));
  process.env.MALLEO_DATA_DIR = dir; // simulated hosts' files must lie in the data directory
  await hostUpsert(t.db, { id: "pm-a", uri: "test:///default", cpus: 16, memoryMiB: 32768, vmQuota: 4 });
  await hostUpsert(t.db, { id: "pm-b", uri: "test:///default", cpus: 4, memoryMiB: 16384, vmQuota: 4 });
  await applicationUpsert(t.db, { id: "heat", kind: "heat", config: {} });
  await vmCreate(t.db, {
    id: heatVm,
    name: "heat-1",
    hostId: "pm-a",
    applicationId: "heat",
    vcpus: 4,
    memoryMiB: 4096,
    state: "running",
  });
  await actorCreateMany(
    t.db,
    Array.from({ length: 4 }, (_, i) => ({
      uan: `uan://heat/s-${i}`,
      applicationId: "heat",
      vmId: heatVm,
      behavior: "b",
      ordinal: i,
    })),
  );
  await vmCreate(t.db, {
    id: busyB,
    name: "busy-b",
    hostId: "pm-b",
    applicationId: "heat",
    vcpus: 3,
    memoryMiB: 1024,
    state: "running",
  });
});
afterAll(async () => {
  await t?.drop();
  rmSync(dir, { recursive: true, force: true });
});

const as = (role: Role, name: string = role) =>
  createCaller({
    db: t.db,
    events: createEventHub("postgres://unused"),
    headers: new Headers(),
    user: { id: randomUUID(), name, role, via: "token" },
  });

/** The refusal's message; input (zod) refusals as the HTTP layer words them: "field: message". */
async function refusal(p: Promise<unknown>): Promise<string> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err as Error,
  );
  expect(e, "expected a refusal").toBeDefined();
  if (!e!.message.startsWith("[")) return e!.message;
  const issues = JSON.parse(e!.message) as { path: string[]; message: string }[];
  return describeInputIssues(issues.map((i) => ({ path: i.path.join("."), message: i.message })));
}

describe("hosts.register", () => {
  it("registers a host by URI with quota and ratios; it waits, capacity 0, until the worker reads nodeGetInfo", async () => {
    const uri = simulatedHostFile(dir, { id: "pm-new", cpus: 6, memoryMiB: 8192 });
    const h = await as("admin").hosts.register({ name: "pm-new", uri, vmQuota: 3, cpuOvercommit: 1.5 });
    expect(h).toMatchObject({
      id: "pm-new",
      uri,
      vmQuota: 3,
      cpuOvercommit: 1.5,
      memoryOvercommit: 1,
      cpus: 0,
      memoryMiB: 0,
      status: "unreachable",
      statusReason: "registered; waiting for the worker to connect",
      used: { vms: 0, vcpus: 0, memoryMiB: 0 },
    });
    expect((await as("viewer").hosts.list()).map((x) => x.id)).toEqual(["pm-a", "pm-b", "pm-new"]);
  });

  it("accepts a qemu+ssh URI and refuses an unsupported one, saying which are accepted", async () => {
    expect(
      (await as("admin").hosts.register({ name: "pm-far", uri: "qemu+ssh://root@pm-far:2222/system", vmQuota: 1 })).uri,
    ).toBe("qemu+ssh://root@pm-far:2222/system");
    expect(await refusal(as("admin").hosts.register({ name: "pm-x", uri: "xen:///system", vmQuota: 1 }))).toMatch(
      /^uri: "xen:\/\/\/system" is not a libvirt URI Malleo drives; use test:\/\/\/default, test:\/\/\/<absolute path>\.xml \(in the data directory\), qemu:\/\/\/system/,
    );
    expect(await refusal(as("admin").hosts.register({ name: "pm-x", uri: "qemu:///system", vmQuota: 0 }))).toBe(
      "vmQuota: the VM quota is at least 1",
    );
  });

  it("refuses a name or a URI already registered", async () => {
    expect(await refusal(as("admin").hosts.register({ name: "pm-far", uri: "qemu:///system", vmQuota: 1 }))).toBe(
      "a host named pm-far already exists; choose another name",
    );
    expect(
      await refusal(as("admin").hosts.register({ name: "pm-twin", uri: "qemu+ssh://root@pm-far:2222/system", vmQuota: 1 })),
    ).toBe("host pm-far is already registered with qemu+ssh://root@pm-far:2222/system");
  });

  it("is for admins only, and every attempt is in the audit log", async () => {
    expect(await refusal(as("operator", "olga").hosts.register({ name: "pm-o", uri: "qemu:///session", vmQuota: 1 }))).toBe(
      "olga is a operator; this needs the admin role — ask an admin",
    );
    const rows = await t.db.auditEvent.findMany({ where: { procedure: "hosts.register" }, orderBy: { id: "asc" } });
    expect(rows.map((r) => [r.actor, r.ok])).toEqual([
      ["admin", true],
      ["admin", true],
      ["admin", false],
      ["admin", false],
      ["admin", false],
      ["admin", false],
      ["olga", false],
    ]);
    expect(rows.at(-1)!.input).toMatchObject({ name: "pm-o", uri: "qemu:///session" });
  });
});

describe("hosts.test (no worker runs here: apps/worker's host-probe test has one)", () => {
  it("refuses a URI by exactly register's rules, before any request reaches a worker", async () => {
    const outside = `test://${path.join(os.tmpdir(), "elsewhere", "pm-out.xml")}`;
    for (const uri of ["xen:///system", "qemu+tcp://pm-4/system", "qemu+ssh://pm-4/system?command=/bin/sh", outside]) {
      const viaRegister = await refusal(as("admin").hosts.register({ name: "pm-t", uri, vmQuota: 1 }));
      expect(await refusal(as("admin").hosts.test({ uri }))).toBe(viaRegister);
    }
    expect(await refusal(as("admin").hosts.test({ uri: outside }))).toContain("names a file outside the data directory");
    expect(await t.db.hostProbe.count()).toBe(0);
    expect(await t.db.host.count({ where: { id: "pm-t" } })).toBe(0);
  });

  it("is for admins only; a viewer or operator is refused and nothing is asked of a worker", async () => {
    for (const role of ["viewer", "operator"] as const)
      expect(await refusal(as(role, `${role}-1`).hosts.test({ uri: "test:///default" }))).toMatch(/this needs the admin role/);
    expect(await t.db.hostProbe.count()).toBe(0);
    const audit = await t.db.auditEvent.findMany({
      where: { procedure: "hosts.test", actor: { in: ["viewer-1", "operator-1"] } },
    });
    expect(audit.map((r) => [r.actor, r.ok, r.target])).toEqual([
      ["viewer-1", false, "URI test:///default"],
      ["operator-1", false, "URI test:///default"],
    ]);
  });

  it("answers that no worker answered when none serves the request, and leaves no row", async () => {
    const answer = await probeHostThroughWorker(t.db, "test:///default", "ada", 300);
    expect(answer).toEqual({
      ok: false,
      kind: "no-worker",
      reason: "no worker answered within 300 ms; only the worker talks to libvirt — is it running?",
    });
    expect(await t.db.hostProbe.count()).toBe(0);
  });
});

describe("hosts.update and hosts.remove", () => {
  it("refuses a quota or ratio the live VMs no longer fit in, saying how much they use", async () => {
    expect(await refusal(as("admin").hosts.update({ id: "pm-b", vmQuota: 0 }))).toBe("vmQuota: the VM quota is at least 1");
    await vmCreate(t.db, {
      id: busyB2,
      name: "busy-b2",
      hostId: "pm-b",
      applicationId: "heat",
      vcpus: 1,
      memoryMiB: 512,
      state: "running",
    });
    expect(await refusal(as("admin").hosts.update({ id: "pm-b", vmQuota: 1 }))).toBe(
      "host pm-b carries 2 live VMs; its VM quota cannot go below 2 (asked 1)",
    );
    await as("admin").hosts.update({ id: "pm-b", cpuOvercommit: 2 });
    await t.db.vm.updateMany({ where: { name: "busy-b2" }, data: { vcpus: 4 } });
    expect(await refusal(as("admin").hosts.update({ id: "pm-b", cpuOvercommit: 1.5 }))).toBe(
      "host pm-b's VMs use 7 vCPUs; CPU overcommit 1.5 allows only 6 on its 4 CPUs (at least 1.75 needed)",
    );
    expect((await t.db.host.findUniqueOrThrow({ where: { id: "pm-b" } })).cpuOvercommit).toBe(2);
    expect(await vmTransition(t.db, busyB2, "deleted")).toBe(true);
    const back = await as("admin").hosts.update({ id: "pm-b", cpuOvercommit: 1 });
    expect([back.cpuOvercommit, back.placeable.vcpus, back.used.vcpus]).toEqual([1, 4, 3]);
    expect(await refusal(as("admin").hosts.update({ id: "pm-zz", vmQuota: 2 }))).toBe(
      "host pm-zz is not registered; the hosts list shows which are",
    );
  });

  it("refuses to remove a host with live VMs, naming them; removes an empty one with its deleted VMs' rows", async () => {
    expect(await refusal(as("admin").hosts.remove({ id: "pm-b" }))).toBe(
      "host pm-b still carries 1 live VM (busy-b); merge or move them elsewhere first",
    );
    expect(await vmTransition(t.db, busyB, "deleted")).toBe(true);
    expect(await as("admin").hosts.remove({ id: "pm-b" })).toEqual({ removed: "pm-b" });
    expect(await t.db.vm.count({ where: { hostId: "pm-b" } })).toBe(0);
    expect((await as("viewer").hosts.list()).map((x) => x.id)).not.toContain("pm-b");
    const audit = await t.db.auditEvent.findMany({ where: { procedure: "hosts.remove" }, orderBy: { id: "asc" } });
    expect(audit.map((r) => [r.ok, r.error])).toEqual([
      [false, "host pm-b still carries 1 live VM (busy-b); merge or move them elsewhere first"],
      [true, null],
    ]);
  });
});

describe("overcommit ratio in Validate and at creation time", () => {
  it("a split refused at ratio 1 is accepted at ratio 2, and the creation-time recheck uses the ratio too", async () => {
    await hostUpsert(t.db, { id: "pm-c", uri: "test:///default", cpus: 4, memoryMiB: 16384, vmQuota: 4 });
    await vmCreate(t.db, {
      id: randomUUID(),
      name: "busy-c",
      hostId: "pm-c",
      applicationId: "heat",
      vcpus: 3,
      memoryMiB: 1024,
      state: "running",
    });
    const split = { vmId: heatVm, count: 2, targetHostIds: ["pm-c", "pm-c"] };
    expect(await refusal(as("operator").operations.split(split))).toBe("host pm-c has 1 of 4 vCPUs free; the operation needs 4");

    await as("admin").hosts.update({ id: "pm-c", cpuOvercommit: 2 });
    const op = await as("operator").operations.split(split);
    expect(op.status).toBe("queued");

    // Between Validate and Provision an admin lowers the ratio (still above what runs there):
    // the creation-time recheck, under the host row's lock, refuses with the host, limit and free room.
    await as("admin").hosts.update({ id: "pm-c", cpuOvercommit: 1 });
    const plan = (await t.db.operation.findUniqueOrThrow({ where: { id: op.id } })).plan as unknown as OperationPlan;
    expect(await refusal(reserveTargets(t.db, op.id, plan))).toBe("host pm-c has 1 of 4 vCPUs free; the operation needs 4");
    expect(await t.db.vm.count({ where: { createdBy: op.id } })).toBe(0);

    await as("admin").hosts.update({ id: "pm-c", cpuOvercommit: 2 });
    await reserveTargets(t.db, op.id, plan);
    expect(await t.db.vm.count({ where: { createdBy: op.id, hostId: "pm-c" } })).toBe(2);
    // Now the host's VMs use 7 of 8 placeable vCPUs: the ratio cannot go back to 1.
    expect(await refusal(as("admin").hosts.update({ id: "pm-c", cpuOvercommit: 1 }))).toBe(
      "host pm-c's VMs use 7 vCPUs; CPU overcommit 1 allows only 4 on its 4 CPUs (at least 1.75 needed)",
    );
  });
});
