// Bad input gets a clear error that says what would be accepted, and changes nothing.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AppError, type ErrorCode } from "@malleo/core";
import { actorCreateMany, applicationUpsert, hostUpsert, vmCreate } from "@malleo/db";
import { createTestDatabase, type TestDatabase } from "@malleo/db/admin";
import { submitMerge, submitSplit } from "./submit";

let t: TestDatabase;
const heat1 = randomUUID();
const heat2 = randomUUID();
const crawler1 = randomUUID();
const gone = randomUUID();
const small = randomUUID();
const idle1 = randomUUID();
const idle2 = randomUUID();

beforeAll(async () => {
  t = await createTestDatabase();
  await hostUpsert(t.db, { id: "pm-1", uri: "test:///default", cpus: 32, memoryMiB: 65536, vmQuota: 8 });
  await hostUpsert(t.db, { id: "pm-full", uri: "test:///default", cpus: 32, memoryMiB: 65536, vmQuota: 1 });
  await applicationUpsert(t.db, { id: "heat", kind: "heat", config: {} });
  await applicationUpsert(t.db, { id: "crawler", kind: "crawler", config: {} });
  const vm = (
    id: string,
    name: string,
    applicationId: string,
    extra: { vcpus?: number; memoryMiB?: number; state?: "running" | "deleted"; hostId?: string } = {},
  ) =>
    vmCreate(t.db, {
      id,
      name,
      hostId: extra.hostId ?? "pm-1",
      applicationId,
      vcpus: extra.vcpus ?? 4,
      memoryMiB: extra.memoryMiB ?? 8192,
      state: extra.state ?? "running",
    });
  await vm(heat1, "heat-1", "heat");
  await vm(heat2, "heat-2", "heat");
  await vm(crawler1, "crawler-1", "crawler");
  await vm(gone, "gone-1", "heat", { state: "deleted" });
  await vm(small, "small-1", "heat", { vcpus: 8, memoryMiB: 1024 });
  await vm(randomUUID(), "full-1", "heat", { hostId: "pm-full" });
  // A stopped application: its actors hold, so none of its VMs may be split or merged.
  await applicationUpsert(t.db, { id: "idle", kind: "heat", config: {} });
  await t.db.application.update({ where: { id: "idle" }, data: { status: "stopped" } });
  await vm(idle1, "idle-1", "idle");
  await vm(idle2, "idle-2", "idle");
  await actorCreateMany(t.db, [
    { uan: "uan://heat/slab-0", applicationId: "heat", vmId: heat1, behavior: "heat.slab", ordinal: 0 },
  ]);
});
afterAll(() => t?.drop());

/** Everything an accepted request would change. */
const snapshot = async () => ({
  operations: await t.db.operation.count(),
  vms: await t.db.vm.findMany({ orderBy: { id: "asc" }, select: { id: true, state: true, lockedBy: true } }),
});

const cases: { name: string; run: () => Promise<unknown>; code: ErrorCode; message: RegExp }[] = [
  {
    name: "split into 1",
    run: () => submitSplit(t.db, { vmId: heat1, count: 1, targetHostIds: ["pm-1"] }, "t"),
    code: "INVALID_INPUT",
    message: /count: a split makes at least 2 VMs/,
  },
  {
    name: "split into more VMs than vCPUs",
    run: () => submitSplit(t.db, { vmId: heat1, count: 5, targetHostIds: Array(5).fill("pm-1") }, "t"),
    code: "SPLIT_TOO_SMALL",
    message: /with 4 vCPUs can be split into at most 4 VMs; got 5/,
  },
  {
    name: "split below the memory floor",
    run: () => submitSplit(t.db, { vmId: small, count: 8, targetHostIds: Array(8).fill("pm-1") }, "t"),
    code: "SPLIT_TOO_SMALL",
    message: /below the 256 MiB floor; at most 4 targets/,
  },
  {
    name: "split an unknown VM",
    run: () => submitSplit(t.db, { vmId: randomUUID(), count: 2, targetHostIds: ["pm-1", "pm-1"] }, "t"),
    code: "NOT_FOUND",
    message: /does not exist or was deleted/,
  },
  {
    name: "split a deleted VM",
    run: () => submitSplit(t.db, { vmId: gone, count: 2, targetHostIds: ["pm-1", "pm-1"] }, "t"),
    code: "NOT_FOUND",
    message: /does not exist or was deleted/,
  },
  {
    name: "split onto an unknown host",
    run: () => submitSplit(t.db, { vmId: heat1, count: 2, targetHostIds: ["pm-1", "pm-9"] }, "t"),
    code: "NOT_FOUND",
    message: /host pm-9 is not registered/,
  },
  {
    name: "split onto a host over its quota",
    run: () => submitSplit(t.db, { vmId: heat1, count: 2, targetHostIds: ["pm-full", "pm-full"] }, "t"),
    code: "QUOTA_EXCEEDED",
    message: /host pm-full has 0 of 1 VM slots free; the operation needs 2/,
  },
  {
    name: "split with a host list of the wrong length",
    run: () => submitSplit(t.db, { vmId: heat1, count: 3, targetHostIds: ["pm-1"] }, "t"),
    code: "INVALID_INPUT",
    message: /exactly one target host per new VM/,
  },
  {
    name: "split with a huge host id",
    run: () => submitSplit(t.db, { vmId: heat1, count: 2, targetHostIds: ["pm-1", "x".repeat(100_000)] }, "t"),
    code: "INVALID_INPUT",
    message: /a host id has at most 64 characters/,
  },
  {
    name: "split with wrong types",
    run: () => submitSplit(t.db, { vmId: 42, count: "two", targetHostIds: "pm-1" }, "t"),
    code: "INVALID_INPUT",
    message: /vmId: .*UUID.*count: count must be a whole number/,
  },
  {
    name: "split with unknown fields",
    run: () => submitSplit(t.db, { vmId: heat1, count: 2, targetHostIds: ["pm-1", "pm-1"], force: true }, "t"),
    code: "INVALID_INPUT",
    message: /force/,
  },
  {
    name: "split of a stopped application's VM",
    run: () => submitSplit(t.db, { vmId: idle1, count: 2, targetHostIds: ["pm-1", "pm-1"] }, "t"),
    code: "APPLICATION_STOPPED",
    message: /application idle is stopped; start it first/,
  },
  {
    name: "merge of a stopped application's VMs",
    run: () => submitMerge(t.db, { vmIds: [idle1, idle2], targetHostId: "pm-1" }, "t"),
    code: "APPLICATION_STOPPED",
    message: /application idle is stopped; start it first/,
  },
  {
    name: "merge of one VM",
    run: () => submitMerge(t.db, { vmIds: [heat1], targetHostId: "pm-1" }, "t"),
    code: "INVALID_INPUT",
    message: /a merge needs at least 2 VMs/,
  },
  {
    name: "merge with repeated ids",
    run: () => submitMerge(t.db, { vmIds: [heat1, heat1], targetHostId: "pm-1" }, "t"),
    code: "INVALID_INPUT",
    message: /each VM may be named only once/,
  },
  {
    name: "merge of different applications",
    run: () => submitMerge(t.db, { vmIds: [heat1, crawler1], targetHostId: "pm-1" }, "t"),
    code: "MERGE_INVALID",
    message: /different applications \(heat, crawler\)/,
  },
  {
    name: "merge including a deleted VM",
    run: () => submitMerge(t.db, { vmIds: [heat1, gone], targetHostId: "pm-1" }, "t"),
    code: "NOT_FOUND",
    message: /does not exist or was deleted/,
  },
  {
    name: "merge onto a host without room",
    run: () => submitMerge(t.db, { vmIds: [heat1, heat2], targetHostId: "pm-full" }, "t"),
    code: "QUOTA_EXCEEDED",
    message: /host pm-full has 0 of 1 VM slots free/,
  },
  {
    name: "merge with no body",
    run: () => submitMerge(t.db, undefined, "t"),
    code: "INVALID_INPUT",
    message: /expected object/i,
  },
];

describe("invalid split and merge requests", () => {
  it.each(cases)("$name: refused with $code, saying what is accepted, and nothing changes", async ({ run, code, message }) => {
    const before = await snapshot();
    const error = await run().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(AppError.is(error), String(error)).toBe(true);
    expect((error as AppError).code).toBe(code);
    expect((error as Error).message).toMatch(message);
    expect(await snapshot()).toEqual(before);
  });

  it("a valid request is accepted and takes the lock (the table above is not refusing everything)", async () => {
    const op = await submitSplit(t.db, { vmId: heat2, count: 2, targetHostIds: ["pm-1", "pm-1"] }, "t");
    expect(op.status).toBe("queued");
    expect((await t.db.vm.findUniqueOrThrow({ where: { id: heat2 } })).lockedBy).toBe(op.id);
    const refusal = await submitMerge(t.db, { vmIds: [heat1, heat2], targetHostId: "pm-1" }, "t").catch((e: unknown) => e);
    expect((refusal as AppError).code).toBe("VM_LOCKED");
    expect((refusal as Error).message).toContain(op.id);
  });
});
