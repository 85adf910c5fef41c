import type { Db } from "../client";

export interface CpuSampleInput {
  vmId: string;
  at: Date;
  cpuPercent: number;
}

/** Appends raw samples; a second sample of one VM at the same millisecond is ignored. */
export function cpuSampleInsertMany(db: Db, rows: CpuSampleInput[]) {
  return db.vmCpuSample.createMany({ data: rows, skipDuplicates: true });
}

/** One VM's samples since `since`, oldest first (raw within the last hour, per-minute beyond). */
export function cpuSampleSeries(db: Db, vmId: string, since: Date) {
  return db.vmCpuSample.findMany({
    where: { vmId, at: { gte: since } },
    orderBy: { at: "asc" },
    select: { at: true, cpuPercent: true, samples: true },
  });
}

/**
 * Folds the raw samples (samples = 1) older than `before` into one row per VM and minute,
 * holding their average and how many were averaged; merges into a row already at that minute.
 * Returns how many raw rows were folded.
 */
export async function cpuSampleDownsample(db: Db, before: Date): Promise<number> {
  return db.$transaction(async (tx) => {
    const buckets = await tx.$queryRaw<{ vmId: string; minute: Date; avg: number; n: number }[]>`
      SELECT vm_id::text AS "vmId", date_trunc('minute', at) AS minute, avg(cpu_percent)::float8 AS avg, count(*)::int AS n
        FROM vm_cpu_samples WHERE at < ${before} AND samples = 1 GROUP BY 1, 2`;
    const folded = await tx.$executeRaw`DELETE FROM vm_cpu_samples WHERE at < ${before} AND samples = 1`;
    for (const b of buckets)
      await tx.$executeRaw`
        INSERT INTO vm_cpu_samples (vm_id, at, cpu_percent, samples) VALUES (${b.vmId}::uuid, ${b.minute}, ${b.avg}, ${b.n})
        ON CONFLICT (vm_id, at) DO UPDATE SET
          cpu_percent = (vm_cpu_samples.cpu_percent * vm_cpu_samples.samples + EXCLUDED.cpu_percent * EXCLUDED.samples)
                        / (vm_cpu_samples.samples + EXCLUDED.samples),
          samples = vm_cpu_samples.samples + EXCLUDED.samples`;
    return folded;
  });
}
