import type { Db } from "../client";
import type { Prisma } from "../generated/prisma/client";

/** A "test connection" request (packages/api hosts.test, answered by a worker's host-probes.ts). */
export function hostProbeRequest(db: Db, p: { id: string; uri: string; requestedBy: string }) {
  return db.hostProbe.create({ data: p });
}

/** Takes an unclaimed request for this worker: its URI, or null when another worker took it (or it is gone). */
export async function hostProbeClaim(db: Db, id: string, executorId: string): Promise<{ uri: string } | null> {
  const claimed = await db.hostProbe.updateManyAndReturn({
    where: { id, claimedBy: null },
    data: { claimedBy: executorId },
    select: { uri: true },
  });
  return claimed[0] ?? null;
}

/** Requests no worker has taken yet (a worker that starts or reconnects serves those it missed). */
export function hostProbeListUnclaimed(db: Db, since: Date) {
  return db.hostProbe.findMany({ where: { claimedBy: null, requestedAt: { gte: since } }, select: { id: true } });
}

export async function hostProbeAnswer(db: Db, id: string, answer: Prisma.InputJsonValue): Promise<void> {
  await db.hostProbe.updateMany({ where: { id }, data: { answer, answeredAt: new Date() } });
}

export function hostProbeGet(db: Db, id: string) {
  return db.hostProbe.findUnique({ where: { id } });
}

/** Deletes the request once read, and any a dead web process left behind (older than `staleBefore`). */
export async function hostProbeDelete(db: Db, id: string, staleBefore: Date): Promise<void> {
  await db.hostProbe.deleteMany({ where: { OR: [{ id }, { requestedAt: { lt: staleBefore } }] } });
}
