import {
  AppError,
  TERMINAL_STATUSES,
  assertOperationTransition,
  operationAllowedFrom,
  type OperationStatus as LifecycleOperationStatus,
} from "@malleo/core";
import type { Db } from "../client";
import { rethrowUniqueViolation } from "../errors";
import { publishEvent } from "../events";
import type { OperationKind, OperationStatus, Prisma, StepStatus } from "../generated/prisma/client";

/** Fails to compile when core's operation lifecycle and the Prisma enum name different statuses. */
type OperationStatusesMatchSchema = [OperationStatus, LifecycleOperationStatus] extends [
  LifecycleOperationStatus,
  OperationStatus,
]
  ? true
  : never;
const operationStatusesMatchSchema: OperationStatusesMatchSchema = true;
void operationStatusesMatchSchema;

/**
 * Creates an operation and takes the lock on each of its VMs in one transaction, by
 * compare-and-swap (`UPDATE … WHERE locked_by IS NULL`). If any VM is held, nothing changes
 * and the refusal names the holder: at most one operation per VM.
 */
export async function operationCreateWithLocks(
  db: Db,
  op: {
    id: string;
    kind: OperationKind;
    input: Prisma.InputJsonValue;
    plan: Prisma.InputJsonValue;
    vmIds: string[];
    operator: string;
    transferMode?: string;
    /** The client's idempotency key; a second operation with the same key is a UniqueViolation. */
    idempotencyKey?: string;
    /** The client's deadline: when it has passed by the time the locks are taken, nothing is kept. */
    deadline?: Date;
    /** A deploy records its application in the same transaction; an id already taken is refused. */
    application?: { id: string; kind: string; config: Prisma.InputJsonValue; bundleVersion?: string };
  },
) {
  // Two racing transactions: the loser's UPDATE waits for the winner's lock, then sees
  // locked_by set and counts short, so it refuses and rolls back its operation row.
  return db
    .$transaction(
      async (tx) => {
        if (op.application) {
          if (await tx.application.findUnique({ where: { id: op.application.id }, select: { id: true } })) {
            throw new AppError("INVALID_INPUT", `an application ${op.application.id} already exists; choose another id`, {
              applicationId: op.application.id,
            });
          }
          await tx.application.create({ data: op.application });
        }
        const created = await tx.operation.create({
          data: {
            id: op.id,
            kind: op.kind,
            input: op.input,
            plan: op.plan,
            operator: op.operator,
            transferMode: op.transferMode ?? null,
            idempotencyKey: op.idempotencyKey ?? null,
          },
        });
        const locked = await tx.vm.updateMany({
          where: { id: { in: op.vmIds }, lockedBy: null, state: "running" },
          data: { lockedBy: op.id },
        });
        if (locked.count !== op.vmIds.length) {
          const holders = await tx.vm.findMany({
            where: { id: { in: op.vmIds }, OR: [{ lockedBy: { not: null } }, { state: { not: "running" } }] },
            select: { name: true, lockedBy: true, state: true },
          });
          // This transaction has just locked the free ones itself: the holder is anyone else.
          const held = holders.find((h) => h.lockedBy && h.lockedBy !== op.id);
          const notRunning = holders.find((h) => h.state !== "running");
          throw held
            ? new AppError("VM_LOCKED", `VM ${held.name} is held by operation ${held.lockedBy}; wait for it to finish`, {
                vm: held.name,
                operationId: held.lockedBy,
              })
            : new AppError(
                "VM_NOT_RUNNING",
                `VM ${notRunning?.name ?? "?"} is ${notRunning?.state ?? "gone"}; only running VMs can be changed`,
                {
                  vm: notRunning?.name,
                },
              );
        }
        // Checked last, just before commit: a request that waited past its deadline (for a
        // connection, for another operation's lock) leaves nothing behind.
        if (op.deadline && Date.now() > op.deadline.getTime()) throw deadlinePassed(op.deadline);
        return created;
      },
      // Many requests for one VM queue for a connection; they must wait their turn, not time out.
      { maxWait: 30_000, timeout: 30_000 },
    )
    .catch(rethrowUniqueViolation);
}

/** The refusal of a request that reached the server after the deadline its client set. */
export function deadlinePassed(deadline: Date, now = new Date()): AppError {
  return new AppError(
    "DEADLINE_PASSED",
    `this request arrived ${((now.getTime() - deadline.getTime()) / 1000).toFixed(1)} s after the deadline its client set (${deadline.toISOString()}, server time ${now.toISOString()}); nothing was changed — check History, then submit again if still wanted`,
    { deadline: deadline.toISOString(), serverTime: now.toISOString() },
  );
}

/** The operation a request with this idempotency key created, if any. */
export function operationGetByIdempotencyKey(db: Db, idempotencyKey: string) {
  return db.operation.findUnique({ where: { idempotencyKey } });
}

export function operationGet(db: Db, id: string) {
  return db.operation.findUnique({ where: { id }, include: { steps: { orderBy: { id: "asc" } } } });
}

export function operationList(db: Db, opts: { limit: number; cursor?: string }) {
  return db.operation.findMany({
    take: opts.limit + 1,
    ...(opts.cursor ? { cursor: { id: opts.cursor }, skip: 1 } : {}),
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
  });
}

export function operationListByStatus(db: Db, statuses: OperationStatus[]) {
  return db.operation.findMany({ where: { status: { in: statuses } }, orderBy: { createdAt: "asc" } });
}

/** The operation and whether its Transfer has succeeded: what cancel and the ready decision check. */
export function operationGetForControl(db: Db, id: string) {
  return db.operation.findUnique({
    where: { id },
    // Past these, cancel is too late: a split's or merge's Transfer done, an upgrade's restart begun.
    include: {
      steps: { where: { OR: [{ name: "transfer", status: "succeeded" }, { name: "restart" }] }, select: { id: true } },
    },
  });
}

/** The operator's cancel request, if any (null when there is none or no such operation). */
export async function operationGetCancelRequest(db: Db, id: string): Promise<{ by: string } | null> {
  const op = await db.operation.findUnique({ where: { id }, select: { cancelRequestedAt: true, cancelledBy: true } });
  return op?.cancelRequestedAt ? { by: op.cancelledBy ?? "an operator" } : null;
}

/** What a workflow waiting on a timed-out ready barrier polls: the operator's decision and cancel. */
export function operationGetReadyDecision(db: Db, id: string) {
  return db.operation.findUnique({ where: { id }, select: { readyDecision: true, cancelRequestedAt: true } });
}

/**
 * Moves an operation to `to` by compare-and-swap: `UPDATE … WHERE status IN (…)` over the
 * statuses from which the lifecycle table (packages/core) allows `to`, or over `from` to narrow
 * them (each must be allowed). Publishes the operation's event when it changed; returns false,
 * changing nothing, when the operation was in none of them (a resumed step finds it moved on).
 */
export async function operationTransition(
  db: Db,
  id: string,
  to: OperationStatus,
  extra: { from?: OperationStatus[]; error?: string | null; waitingReason?: string | null } = {},
): Promise<boolean> {
  const allowed = operationAllowedFrom(to);
  for (const f of extra.from ?? []) assertOperationTransition(f, to);
  const from = extra.from ?? allowed;
  if (from.length === 0) throw new AppError("INTERNAL", `no operation status leads to ${to}`, { to });
  const now = new Date();
  const r = await db.operation.updateMany({
    where: { id, status: { in: from } },
    data: {
      status: to,
      ...(to === "running" ? { startedAt: now } : {}),
      ...(TERMINAL_STATUSES.includes(to) ? { finishedAt: now } : {}),
      ...(extra.error !== undefined ? { error: extra.error } : {}),
      ...(extra.waitingReason !== undefined ? { waitingReason: extra.waitingReason } : {}),
    },
  });
  if (r.count === 0) return false;
  await publishEvent(db, { type: "operation", operationId: id });
  return true;
}

/**
 * Sets (or clears, with null) what the operation is waiting for, only while it is in `status`
 * (compare-and-swap); `readyDecision: null` also clears the operator's last ready decision.
 * Publishes the operation's event when it changed; returns false when the status differed.
 */
export async function operationSetWaiting(
  db: Db,
  id: string,
  waitingReason: string | null,
  opts: { status: OperationStatus; readyDecision?: null },
): Promise<boolean> {
  const r = await db.operation.updateMany({
    where: { id, status: opts.status },
    data: { waitingReason, ...(opts.readyDecision === null ? { readyDecision: null } : {}) },
  });
  if (r.count === 0) return false;
  await publishEvent(db, { type: "operation", operationId: id });
  return true;
}

/** The waiting reasons the workflow writes while a ready barrier has timed out start with this. */
const READY_WAIT_PREFIX = "ready";

/**
 * Records the operator's answer to a timed-out ready barrier, only while the operation is
 * running and waiting on that barrier (compare-and-swap on status and waiting reason).
 * Publishes the operation's event; returns false when it was not waiting.
 */
export async function operationDecideReady(db: Db, id: string, decision: "extend" | "abort"): Promise<boolean> {
  const r = await db.operation.updateMany({
    where: { id, status: "running", waitingReason: { startsWith: READY_WAIT_PREFIX } },
    data: { readyDecision: decision },
  });
  if (r.count === 0) return false;
  await publishEvent(db, { type: "operation", operationId: id });
  return true;
}

/**
 * Records an operator's cancel request, only while the operation is queued or running, not
 * cancelled yet and its Transfer has not succeeded (compare-and-swap). Publishes the
 * operation's event; returns false when any of that no longer held.
 */
export async function operationRequestCancel(db: Db, id: string, operator: string, idempotencyKey?: string): Promise<boolean> {
  const r = await db.operation.updateMany({
    where: {
      id,
      status: { in: ["queued", "running"] },
      cancelRequestedAt: null,
      steps: { none: { name: "transfer", status: "succeeded" } },
    },
    data: { cancelRequestedAt: new Date(), cancelledBy: operator, cancelIdempotencyKey: idempotencyKey ?? null },
  });
  if (r.count === 0) return false;
  await publishEvent(db, { type: "operation", operationId: id });
  return true;
}

export function operationReleaseLocks(db: Db, operationId: string) {
  return db.vm.updateMany({ where: { lockedBy: operationId }, data: { lockedBy: null } });
}

/** Closes the attempts of a step still `running`: a crash cut them short, and the step runs again now. */
export function stepCloseInterrupted(db: Db, operationId: string, name: string, error: string) {
  return db.operationStep.updateMany({
    where: { operationId, name, status: "running" },
    data: { status: "failed", finishedAt: new Date(), error },
  });
}

/** How many attempts of this step the operation has recorded. */
export function stepCount(db: Db, operationId: string, name: string) {
  return db.operationStep.count({ where: { operationId, name } });
}

export function stepStart(db: Db, operationId: string, name: string, attempt: number) {
  return db.operationStep.create({ data: { operationId, name, status: "running", attempt } });
}

export function stepFinish(
  db: Db,
  stepId: bigint,
  status: StepStatus,
  extra: { detail?: Prisma.InputJsonValue; error?: string } = {},
) {
  return db.operationStep.update({ where: { id: stepId }, data: { status, finishedAt: new Date(), ...extra } });
}

/** What a transfer cost the application: its mode, its pause and the actors' hold times (ms). */
export function operationRecordCost(
  db: Db,
  id: string,
  cost: { transferMode: string; pauseMs: number | null; hold: { p50: number; p99: number; max: number } | null },
) {
  return db.operation.update({
    where: { id },
    data: {
      transferMode: cost.transferMode,
      pauseMs: cost.pauseMs,
      holdP50Ms: cost.hold?.p50 ?? null,
      holdP99Ms: cost.hold?.p99 ?? null,
      holdMaxMs: cost.hold?.max ?? null,
    },
  });
}
