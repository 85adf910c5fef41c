import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AppError } from "@malleo/core";
import {
  applicationUpsert,
  hostUpsert,
  listenEvents,
  operationCreateWithLocks,
  operationDecideReady,
  operationGetCancelRequest,
  operationGetReadyDecision,
  operationRequestCancel,
  operationSetWaiting,
  operationTransition,
  stepCount,
  stepFinish,
  stepStart,
  vmCreate,
  vmGet,
  vmReserve,
  vmTransition,
  type MalleoEvent,
} from "./index";
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

async function newOperation(): Promise<string> {
  const id = randomUUID();
  await operationCreateWithLocks(t.db, { id, kind: "split", input: {}, plan: {}, vmIds: [], operator: "test" });
  return id;
}

async function newVm(state: "provisioning" | "running" = "running"): Promise<string> {
  const id = randomUUID();
  await vmCreate(t.db, {
    id,
    name: `vm-${id.slice(0, 8)}`,
    hostId: "pm-1",
    applicationId: "heat",
    vcpus: 1,
    memoryMiB: 512,
    state,
  });
  return id;
}

const status = async (id: string) => (await t.db.operation.findUniqueOrThrow({ where: { id } })).status;

/** Runs `body` while listening on the events channel; returns the events it caused, in order. */
async function eventsOf(body: () => Promise<void>): Promise<MalleoEvent[]> {
  const events: MalleoEvent[] = [];
  let marks = 0;
  const mark = (n: number) =>
    t.db
      .$executeRaw`SELECT pg_notify('malleo_events', ${JSON.stringify({ type: "application", applicationId: "mark", iteration: n })})`;
  const stop = listenEvents(t.url, (e) =>
    e.type === "application" && e.applicationId === "mark" ? (marks = e.iteration) : events.push(e),
  );
  try {
    // LISTEN is up once a mark sent after it arrives; the final mark follows everything `body` sent.
    await expect
      .poll(async () => {
        await mark(1);
        return marks;
      })
      .toBe(1);
    events.length = 0;
    await body();
    await mark(2);
    await expect.poll(() => marks).toBe(2);
    return events;
  } finally {
    stop();
  }
}

describe("operationTransition", () => {
  it("moves only along the lifecycle table, by compare-and-swap, and announces each change", async () => {
    const id = await newOperation();
    const events = await eventsOf(async () => {
      expect(await operationTransition(t.db, id, "running", { from: ["queued"] })).toBe(true);
      // A resumed step finds the operation moved on already: nothing changes, nothing is announced.
      expect(await operationTransition(t.db, id, "running", { from: ["queued"] })).toBe(false);
      expect(await operationTransition(t.db, id, "cleanup_pending", { waitingReason: "clean-up pending: host gone" })).toBe(true);
      expect(await operationTransition(t.db, id, "rolling_back")).toBe(false);
      expect(await operationTransition(t.db, id, "succeeded", { waitingReason: null })).toBe(true);
    });
    expect(events).toEqual([
      { type: "operation", operationId: id },
      { type: "operation", operationId: id },
      { type: "operation", operationId: id },
    ]);
    const op = await t.db.operation.findUniqueOrThrow({ where: { id } });
    expect(op).toMatchObject({ status: "succeeded", waitingReason: null });
    expect(op.startedAt).not.toBeNull();
    expect(op.finishedAt).not.toBeNull();
    // A terminal status has no way out.
    for (const to of ["queued", "running", "cleanup_pending", "rolling_back", "failed", "rolled_back"] as const)
      expect(await operationTransition(t.db, id, to).catch(() => false)).toBe(false);
    expect(await status(id)).toBe("succeeded");
  });

  it("refuses a narrowing `from` the table does not allow, and a status nothing leads to", async () => {
    const id = await newOperation();
    await expect(operationTransition(t.db, id, "running", { from: ["rolling_back"] })).rejects.toMatchObject({
      code: "INTERNAL",
      message: "operation cannot go from rolling_back to running",
    });
    await expect(operationTransition(t.db, id, "queued")).rejects.toMatchObject({ code: "INTERNAL" });
    expect(await status(id)).toBe("queued");
  });

  it("records the error and clears the waiting reason in the same write", async () => {
    const id = await newOperation();
    await operationTransition(t.db, id, "running");
    await operationSetWaiting(t.db, id, "ready barrier timed out", { status: "running" });
    expect(await operationTransition(t.db, id, "rolling_back", { error: "boom", waitingReason: null })).toBe(true);
    expect(await operationTransition(t.db, id, "rolled_back", { from: ["rolling_back"], error: "boom" })).toBe(true);
    expect(await t.db.operation.findUniqueOrThrow({ where: { id } })).toMatchObject({
      status: "rolled_back",
      error: "boom",
      waitingReason: null,
    });
  });
});

describe("guarded operation writes", () => {
  it("sets the waiting reason only in the expected status", async () => {
    const id = await newOperation();
    expect(await operationSetWaiting(t.db, id, "ready barrier timed out", { status: "running" })).toBe(false);
    await operationTransition(t.db, id, "running");
    expect(await operationSetWaiting(t.db, id, "ready barrier timed out", { status: "running" })).toBe(true);
    expect((await t.db.operation.findUniqueOrThrow({ where: { id } })).waitingReason).toBe("ready barrier timed out");
  });

  it("takes a ready decision only while the operation waits on a ready barrier", async () => {
    const id = await newOperation();
    expect(await operationDecideReady(t.db, id, "extend")).toBe(false);
    await operationTransition(t.db, id, "running");
    expect(await operationDecideReady(t.db, id, "extend")).toBe(false);
    await operationSetWaiting(t.db, id, "ready barrier timed out after 10 ms; not ready: a", { status: "running" });
    expect(await operationDecideReady(t.db, id, "extend")).toBe(true);
    expect(await operationGetReadyDecision(t.db, id)).toEqual({ readyDecision: "extend", cancelRequestedAt: null });
    // The workflow moves on, clearing both: a late decision is refused instead of lingering.
    await operationSetWaiting(t.db, id, null, { status: "running", readyDecision: null });
    expect(await operationDecideReady(t.db, id, "abort")).toBe(false);
    expect((await operationGetReadyDecision(t.db, id))?.readyDecision).toBeNull();
    expect(await operationDecideReady(t.db, randomUUID(), "abort")).toBe(false);
  });

  it("records a cancel once, and never after Transfer succeeded", async () => {
    const id = await newOperation();
    expect(await operationGetCancelRequest(t.db, id)).toBeNull();
    expect(await operationRequestCancel(t.db, id, "olga")).toBe(true);
    expect(await operationRequestCancel(t.db, id, "oscar")).toBe(false);
    expect(await operationGetCancelRequest(t.db, id)).toEqual({ by: "olga" });

    const late = await newOperation();
    await operationTransition(t.db, late, "running");
    const step = await stepStart(t.db, late, "transfer", 1);
    await stepFinish(t.db, step.id, "succeeded");
    expect(await stepCount(t.db, late, "transfer")).toBe(1);
    expect(await operationRequestCancel(t.db, late, "olga")).toBe(false);
    expect(await operationGetCancelRequest(t.db, late)).toBeNull();
  });
});

describe("vmTransition", () => {
  it("moves a VM only along the lifecycle table, by compare-and-swap, and announces each change", async () => {
    const id = await newVm("provisioning");
    const events = await eventsOf(async () => {
      expect(await vmTransition(t.db, id, "running")).toBe(true);
      expect(await vmTransition(t.db, id, "running")).toBe(false);
      expect(await vmTransition(t.db, id, "deleting")).toBe(true);
      // A resumed Clean up finds the source deleting already.
      expect(await vmTransition(t.db, id, "deleting")).toBe(false);
      expect(await vmTransition(t.db, id, "deleted")).toBe(true);
    });
    expect(events).toEqual([{ type: "topology" }, { type: "topology" }, { type: "topology" }]);
    const row = await vmGet(t.db, id);
    expect(row?.state).toBe("deleted");
    expect(row?.deletedAt).not.toBeNull();
    for (const to of ["running", "deleting", "failed"] as const) expect(await vmTransition(t.db, id, to)).toBe(false);
    expect((await vmGet(t.db, id))?.state).toBe("deleted");
  });

  it("refuses a narrowing `from` the table does not allow", async () => {
    const id = await newVm();
    await expect(vmTransition(t.db, id, "running", { from: ["deleted"] })).rejects.toMatchObject({
      code: "INTERNAL",
      message: "VM cannot go from deleted to running",
    });
    expect(await vmTransition(t.db, id, "deleted", { from: ["provisioning"] })).toBe(false);
    expect((await vmGet(t.db, id))?.state).toBe("running");
  });
});

describe("vmReserve", () => {
  it("records the rows only when the check, run under the hosts' lock, accepts", async () => {
    const vm = { id: randomUUID(), name: "reserved", hostId: "pm-1", applicationId: "heat", vcpus: 1, memoryMiB: 512 };
    await expect(
      vmReserve(
        t.db,
        ["pm-1"],
        () => {
          throw new AppError("CAPACITY_EXCEEDED", "no room");
        },
        [vm],
      ),
    ).rejects.toMatchObject({ code: "CAPACITY_EXCEEDED" });
    expect(await vmGet(t.db, vm.id)).toBeNull();
    let seen: string[] = [];
    await vmReserve(t.db, ["pm-1", "pm-1"], (hosts) => (seen = hosts.map((h) => h.id)), [{ ...vm, state: "provisioning" }]);
    expect(seen).toEqual(["pm-1"]);
    expect((await vmGet(t.db, vm.id))?.state).toBe("provisioning");
  });
});
