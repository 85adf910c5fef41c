import { AppError } from "@malleo/core";
import type { Db } from "../client";
import type { OperationKind, OperationStatus, Prisma, StepStatus } from "../generated/prisma/client";

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
  },
) {
  // Two racing transactions: the loser's UPDATE waits for the winner's lock, then sees
  // locked_by set and counts short, so it refuses and rolls back its operation row.
  return db.$transaction(
    async (tx) => {
      const created = await tx.operation.create({
        data: {
          id: op.id,
          kind: op.kind,
          input: op.input,
          plan: op.plan,
          operator: op.operator,
          transferMode: op.transferMode ?? null,
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
      return created;
    },
    // Many requests for one VM queue for a connection; they must wait their turn, not time out.
    { maxWait: 30_000, timeout: 30_000 },
  );
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

/** Compare-and-swap on status: returns false when the operation was not in one of `from`. */
export async function operationTransition(
  db: Db,
  id: string,
  from: OperationStatus[],
  to: OperationStatus,
  extra: { error?: string | null; waitingReason?: string | null } = {},
): Promise<boolean> {
  const now = new Date();
  const r = await db.operation.updateMany({
    where: { id, status: { in: from } },
    data: {
      status: to,
      ...(to === "running" ? { startedAt: now } : {}),
      ...(["succeeded", "failed", "rolled_back"].includes(to) ? { finishedAt: now } : {}),
      ...(extra.error !== undefined ? { error: extra.error } : {}),
      ...(extra.waitingReason !== undefined ? { waitingReason: extra.waitingReason } : {}),
    },
  });
  return r.count === 1;
}

export function operationReleaseLocks(db: Db, operationId: string) {
  return db.vm.updateMany({ where: { lockedBy: operationId }, data: { lockedBy: null } });
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

/** The operator's cancel request, if any (the workflow reads it between steps and between live moves). */
export function operationCancelRequest(db: Db, id: string) {
  return db.operation.findUnique({ where: { id }, select: { cancelRequestedAt: true, cancelledBy: true } });
}

/** The operator's answer to a timed-out ready barrier, and whether a cancel came meanwhile. */
export function operationReadyDecision(db: Db, id: string) {
  return db.operation.findUnique({ where: { id }, select: { readyDecision: true, cancelRequestedAt: true } });
}

/** What the operation waits on (shown in the UI), optionally clearing an earlier ready decision. */
export function operationSetWaiting(db: Db, id: string, reason: string | null, opts: { clearReadyDecision?: boolean } = {}) {
  return db.operation.update({
    where: { id },
    data: { waitingReason: reason, ...(opts.clearReadyDecision ? { readyDecision: null } : {}) },
  });
}

/** How many attempts of a step the operation has recorded. */
export function stepAttemptCount(db: Db, operationId: string, name: string) {
  return db.operationStep.count({ where: { operationId, name } });
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
