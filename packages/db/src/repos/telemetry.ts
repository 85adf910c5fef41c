import type { Db } from "../client";

export function applicationProgressAppend(db: Db, applicationId: string, iteration: number) {
  return db.applicationProgress.create({ data: { applicationId, iteration } });
}

export function applicationProgressSince(db: Db, since: Date) {
  return db.applicationProgress.findMany({
    where: { at: { gte: since } },
    orderBy: { at: "asc" },
    select: { applicationId: true, at: true, iteration: true },
  });
}

/** CPU samples per VM from `vm_cpu_samples` when the worker records them; an empty list while that table does not exist. */
export async function vmCpuSamplesSince(db: Db, since: Date): Promise<{ vmId: string; at: Date; cpuPercent: number }[]> {
  const exists = await db.$queryRaw<{ t: string | null }[]>`SELECT to_regclass('public.vm_cpu_samples')::text AS t`;
  if (!exists[0]?.t) return [];
  return db.$queryRaw<
    { vmId: string; at: Date; cpuPercent: number }[]
  >`SELECT vm_id::text AS "vmId", at, cpu_percent::float8 AS "cpuPercent"
      FROM vm_cpu_samples WHERE at >= ${since} ORDER BY at ASC LIMIT 20000`;
}

/** One application's progress samples since `since`, oldest first. */
export function applicationProgressOf(db: Db, applicationId: string, since: Date) {
  return db.applicationProgress.findMany({
    where: { applicationId, at: { gte: since } },
    orderBy: { at: "asc" },
    select: { applicationId: true, at: true, iteration: true },
  });
}
