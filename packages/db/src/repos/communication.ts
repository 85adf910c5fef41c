import type { CommunicationSample } from "@malleo/core";
import type { Db } from "../client";
import type { Prisma } from "../generated/prisma/client";

/** The sample's lists as stored (plain JSON arrays of plain objects). */
const json = (value: unknown) => value as Prisma.InputJsonValue;

/** Appends one application's communication sample taken at `at`; a second one at the same millisecond is ignored. */
export function communicationInsert(db: Db, applicationId: string, at: Date, sample: CommunicationSample) {
  return db.applicationCommunication.createMany({
    data: [
      {
        applicationId,
        at,
        intervalMs: Math.round(sample.intervalMs),
        totalPerSecond: sample.totalPerSecond,
        crossVmPerSecond: sample.crossVmPerSecond,
        resetActors: sample.resetActors,
        vms: json(sample.vms),
        vmPairs: json(sample.vmPairs),
        groups: json(sample.groups),
        groupPairs: json(sample.groupPairs),
      },
    ],
    skipDuplicates: true,
  });
}

/** One application's samples since `since`, oldest first, as they were stored. */
export async function communicationSince(
  db: Db,
  applicationId: string,
  since: Date,
): Promise<(CommunicationSample & { at: Date })[]> {
  const rows = await db.applicationCommunication.findMany({
    where: { applicationId, at: { gte: since } },
    orderBy: { at: "asc" },
  });
  return rows.map((r) => ({
    at: r.at,
    intervalMs: r.intervalMs,
    totalPerSecond: r.totalPerSecond,
    crossVmPerSecond: r.crossVmPerSecond,
    resetActors: r.resetActors,
    vms: r.vms as unknown as CommunicationSample["vms"],
    vmPairs: r.vmPairs as unknown as CommunicationSample["vmPairs"],
    groups: r.groups as unknown as CommunicationSample["groups"],
    groupPairs: r.groupPairs as unknown as CommunicationSample["groupPairs"],
  }));
}

/** Deletes every application's samples older than `before`; returns how many. */
export async function communicationPrune(db: Db, before: Date): Promise<number> {
  return (await db.applicationCommunication.deleteMany({ where: { at: { lt: before } } })).count;
}
