import { createHash } from "node:crypto";
import { checkHostsCanTake } from "@malleo/core";
import type { Db } from "../client";
import type { ApplicationStatus, VmState } from "../generated/prisma/client";
import { hostLockForUpdate, hostUsageList } from "./hosts";
import { vmTransition } from "./vms";

/** How many checkpoints are kept per application (older ones are pruned as a new one is written). */
export const CHECKPOINTS_KEPT = 3;

/** Marks a running VM lost (its theater stopped answering); false when it was not running. */
export function vmMarkLost(db: Db, vmId: string): Promise<boolean> {
  return vmTransition(db, vmId, "lost", { from: ["running"] });
}

/** A lost VM whose theater runs again (restarted, its actors restored). */
export function vmMarkRecovered(db: Db, vmId: string): Promise<boolean> {
  return vmTransition(db, vmId, "running", { from: ["lost"] });
}

export function vmListLost(db: Db, applicationId?: string) {
  return db.vm.findMany({
    where: { state: "lost", ...(applicationId ? { applicationId } : {}) },
    orderBy: { createdAt: "asc" },
  });
}

/** An application's VMs in these states (all but deleted ones by default). */
export function vmListByApplication(
  db: Db,
  applicationId: string,
  states: VmState[] = ["provisioning", "running", "deleting", "lost", "failed"],
) {
  return db.vm.findMany({ where: { applicationId, state: { in: states } }, orderBy: { createdAt: "asc" } });
}

/**
 * Moves a lost VM to the first of `candidates` (online, other than its own host) with a free VM
 * slot, vCPUs and memory for it, deciding under a lock on those hosts' rows as operations do.
 * Returns the new host, or null when none has room.
 */
export async function vmRehost(
  db: Db,
  vm: { id: string; hostId: string; vcpus: number; memoryMiB: number },
  candidates: string[],
): Promise<string | null> {
  const ids = [...new Set(candidates)].filter((h) => h !== vm.hostId).sort();
  if (ids.length === 0) return null;
  return db.$transaction(async (tx) => {
    await hostLockForUpdate(tx, ids);
    for (const host of (await hostUsageList(tx, ids)).sort((a, b) => a.id.localeCompare(b.id))) {
      if (host.status !== "online") continue;
      try {
        checkHostsCanTake([host], [{ hostId: host.id, resources: { vcpus: vm.vcpus, memoryMiB: vm.memoryMiB } }]);
      } catch {
        continue;
      }
      const moved = await tx.vm.updateMany({ where: { id: vm.id, state: "lost" }, data: { hostId: host.id } });
      return moved.count === 1 ? host.id : null;
    }
    return null;
  });
}

export function applicationSetHealth(db: Db, id: string, status: ApplicationStatus, reason: string | null) {
  return db.application.update({ where: { id }, data: { status, statusReason: reason } });
}

/** Takes the next restore epoch of an application (atomically) and returns it. */
export async function applicationNextRestoreEpoch(db: Db, id: string): Promise<number> {
  const app = await db.application.update({ where: { id }, data: { restoreEpoch: { increment: 1 } } });
  return app.restoreEpoch;
}

export interface CheckpointMeta {
  id: bigint;
  applicationId: string;
  sequence: number;
  takenAt: Date;
  iteration: number;
  actors: number;
  bytes: number;
  sha256: string;
  reason: string;
}

const META = {
  id: true,
  applicationId: true,
  sequence: true,
  takenAt: true,
  iteration: true,
  actors: true,
  bytes: true,
  sha256: true,
  reason: true,
} as const;

export function sha256Hex(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/**
 * Writes a checkpoint with the next sequence number and prunes all but the newest
 * CHECKPOINTS_KEPT, in one transaction.
 */
export async function checkpointWrite(
  db: Db,
  c: { applicationId: string; iteration: number; actors: number; data: Uint8Array; reason: string },
): Promise<CheckpointMeta> {
  const sha256 = sha256Hex(c.data); // before the transaction: it holds the application's row lock
  return db.$transaction(
    async (tx) => {
      // Serialises writers of one application (sequence numbers, pruning).
      await tx.$executeRaw`SELECT 1 FROM applications WHERE id = ${c.applicationId} FOR UPDATE`;
      const last = await tx.checkpoint.findFirst({
        where: { applicationId: c.applicationId },
        orderBy: { sequence: "desc" },
        select: { sequence: true },
      });
      const row = await tx.checkpoint.create({
        data: {
          applicationId: c.applicationId,
          sequence: (last?.sequence ?? 0) + 1,
          iteration: c.iteration,
          actors: c.actors,
          bytes: c.data.length,
          sha256,
          data: Buffer.from(c.data.buffer, c.data.byteOffset, c.data.byteLength) as Uint8Array<ArrayBuffer>,
          reason: c.reason,
        },
        select: META,
      });
      const keep = await tx.checkpoint.findMany({
        where: { applicationId: c.applicationId },
        orderBy: { sequence: "desc" },
        take: CHECKPOINTS_KEPT,
        select: { id: true },
      });
      await tx.checkpoint.deleteMany({ where: { applicationId: c.applicationId, id: { notIn: keep.map((k) => k.id) } } });
      return row;
    },
    // Tens of MiB into a bytea take seconds on a loaded host: Prisma's 5 s default aborted such a write.
    { timeout: CHECKPOINT_WRITE_TIMEOUT_MS, maxWait: CHECKPOINT_WRITE_TIMEOUT_MS },
  );
}

const CHECKPOINT_WRITE_TIMEOUT_MS = 120_000;

/** Newest first, without the data. */
export function checkpointList(db: Db, applicationId: string): Promise<CheckpointMeta[]> {
  return db.checkpoint.findMany({ where: { applicationId }, orderBy: { sequence: "desc" }, select: META });
}

export async function checkpointLatest(db: Db, applicationId: string): Promise<CheckpointMeta | null> {
  return (await checkpointList(db, applicationId))[0] ?? null;
}

export async function checkpointData(db: Db, id: bigint): Promise<Uint8Array | null> {
  const row = await db.checkpoint.findUnique({ where: { id }, select: { data: true } });
  return row ? new Uint8Array(row.data) : null;
}

/** Automatic recovery on or off for one application; false when it does not exist. */
export async function applicationSetAutoRecovery(db: Db, id: string, enabled: boolean): Promise<boolean> {
  const { count } = await db.application.updateMany({ where: { id }, data: { autoRecovery: enabled } });
  return count === 1;
}

/**
 * An operator's request to restore the application from one of its checkpoints, for the worker
 * to serve (the web never talks to theaters). False when the application or that checkpoint
 * does not exist.
 */
export async function applicationRequestRestore(db: Db, id: string, sequence: number, by: string): Promise<boolean> {
  return db.$transaction(async (tx) => {
    const cp = await tx.checkpoint.findUnique({
      where: { applicationId_sequence: { applicationId: id, sequence } },
      select: { id: true },
    });
    if (!cp) return false;
    const { count } = await tx.application.updateMany({
      where: { id },
      data: { restoreRequestedSequence: sequence, restoreRequestedBy: by },
    });
    return count === 1;
  });
}

/** Applications with a restore request waiting for the worker. */
export function applicationListRestoreRequests(db: Db) {
  return db.application.findMany({
    where: { restoreRequestedSequence: { not: null } },
    select: { id: true, restoreRequestedSequence: true, restoreRequestedBy: true },
  });
}

/** Clears a served request (only the one served: a newer request stays). */
export async function applicationClearRestoreRequest(db: Db, id: string, sequence: number): Promise<void> {
  await db.application.updateMany({
    where: { id, restoreRequestedSequence: sequence },
    data: { restoreRequestedSequence: null, restoreRequestedBy: null },
  });
}
