import { createHash } from "node:crypto";
import type { Db } from "../client";
import type { ApplicationStatus } from "../generated/prisma/client";

/** How many checkpoints are kept per application (older ones are pruned as a new one is written). */
export const CHECKPOINTS_KEPT = 3;

/** Marks a running VM lost (its theater stopped answering); false when it was not running. */
export async function vmMarkLost(db: Db, vmId: string): Promise<boolean> {
  const r = await db.vm.updateMany({ where: { id: vmId, state: "running" }, data: { state: "lost" } });
  return r.count === 1;
}

/** A lost VM whose theater runs again (restarted, its actors restored). */
export async function vmMarkRecovered(db: Db, vmId: string): Promise<boolean> {
  const r = await db.vm.updateMany({ where: { id: vmId, state: "lost" }, data: { state: "running" } });
  return r.count === 1;
}

export function vmListLost(db: Db, applicationId?: string) {
  return db.vm.findMany({
    where: { state: "lost", ...(applicationId ? { applicationId } : {}) },
    orderBy: { createdAt: "asc" },
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
  return db.$transaction(async (tx) => {
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
        sha256: sha256Hex(c.data),
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
  });
}

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
