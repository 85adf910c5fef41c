import { operationActorsArrived, stepDurations, type Db } from "@malleo/db";
import type { MigrationEstimates } from "./pause-estimate";

export interface StepSample {
  operationId: string;
  name: string;
  status: string;
  ms: number;
  detail: unknown;
}

function transferDetail(detail: unknown): { moved: number; bytes: number } | null {
  const d = detail as { moved?: unknown; bytes?: unknown } | null;
  return d && typeof d.moved === "number" && typeof d.bytes === "number" ? { moved: d.moved, bytes: d.bytes } : null;
}

/** Pure: summarises step rows into the estimate (no I/O, unit tested). */
export function summariseSteps(rows: StepSample[]): MigrationEstimates {
  const sums = new Map<string, { ms: number; n: number }>();
  let moved = 0;
  let bytes = 0;
  let transferMs = 0;
  for (const r of rows) {
    if (r.status !== "succeeded" || !Number.isFinite(r.ms)) continue;
    const s = sums.get(r.name) ?? { ms: 0, n: 0 };
    sums.set(r.name, { ms: s.ms + r.ms, n: s.n + 1 });
    const t = r.name === "transfer" ? transferDetail(r.detail) : null;
    if (t && t.moved > 0) {
      moved += t.moved;
      bytes += t.bytes;
      transferMs += r.ms;
    }
  }
  const seconds = transferMs / 1000;
  return {
    samples: new Set(rows.map((r) => r.operationId)).size,
    meanStepMs: Object.fromEntries([...sums].map(([name, s]) => [name, s.ms / s.n])),
    bytesPerSecond: seconds > 0 ? bytes / seconds : null,
    actorsPerSecond: seconds > 0 ? moved / seconds : null,
    bytesPerActor: moved > 0 ? bytes / moved : null,
  };
}

export async function migrationEstimates(db: Db): Promise<MigrationEstimates> {
  return summariseSteps(await stepDurations(db, 50));
}

export interface TransferProgress {
  actorsTotal: number;
  actorsMoved: number;
  /** Exact once Transfer finished; before that estimated from the measured bytes per actor (null without measurements). */
  bytesTotal: number | null;
  bytesMoved: number | null;
  estimated: boolean;
}

/** Transfer progress: planned actors that already sit on their target VM, and the bytes that implies. */
export async function transferProgress(
  db: Db,
  plan: { targets: { id?: string; actors: string[] }[] } | null,
  transferStep: { status: string; detail: unknown } | undefined,
  bytesPerActor: () => Promise<number | null>,
): Promise<TransferProgress | null> {
  if (!plan) return null;
  const actorsTotal = plan.targets.reduce((n, t) => n + t.actors.length, 0);
  const done = transferStep?.status === "succeeded" ? transferDetail(transferStep.detail) : null;
  if (done) return { actorsTotal, actorsMoved: done.moved, bytesTotal: done.bytes, bytesMoved: done.bytes, estimated: false };
  const targets = plan.targets.filter((t): t is { id: string; actors: string[] } => typeof t.id === "string");
  const actorsMoved = transferStep ? await operationActorsArrived(db, targets) : 0;
  const perActor = await bytesPerActor();
  return {
    actorsTotal,
    actorsMoved,
    bytesTotal: perActor === null ? null : Math.round(perActor * actorsTotal),
    bytesMoved: perActor === null ? null : Math.round(perActor * actorsMoved),
    estimated: true,
  };
}
