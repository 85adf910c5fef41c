// pause: what a split or merge costs a running application. Heat diffusion with 1,000 actors
// holding about 31 MiB in all, on simulated hosts, split 1 → 2 and merged 2 → 1 in live mode and
// in barrier mode (the baseline, measured in the same run), for several rounds. For every
// operation the worker records the application's pause (its theaters' progress activity at 1 ms
// resolution: the longest stretch without progress during the move, less its normal gap before
// the operation) and each actor's hold time (held at the source → running at the target).
// Prints the pause and hold p50 / p99 / max over the operations of each mode, and each
// operation's end-to-end time excluding VM boot (the Provision step).
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadavg } from "node:os";
import type { TransferMode } from "@malleo/core";
import type { HeatConfig } from "@malleo/examples";
import { submitMerge, submitSplit } from "@malleo/workflows";
import { loadWorkerEnv } from "../apps/worker/src/env";
import { startWorker } from "../apps/worker/src/worker";
import { seedApplicationVm, seedSimulatedHosts } from "@malleo/testing";
import { benchDatabase } from "./lib/database";
import type { BenchResult } from "./run";

const ACTORS = Number(process.env.PAUSE_BENCH_ACTORS ?? 1000);
const ROUNDS = Number(process.env.PAUSE_BENCH_ROUNDS ?? 3);
// 1,024 columns × 4 rows of float64 per slab: 32 KiB of state per actor, ~31 MiB in all.
const HEAT: HeatConfig = { width: 1024, height: 4 * ACTORS, actors: ACTORS, maxIterations: null, iterationDelayMs: 20 };

interface Measured {
  kind: "split" | "merge";
  mode: TransferMode;
  pauseMs: number | null;
  holdP50Ms: number | null;
  holdP99Ms: number | null;
  holdMaxMs: number | null;
  /** From start to finish, less the Provision step (the new VMs' boot). */
  endToEndExclBootMs: number;
  transferMs: number;
  provisionMs: number;
}

function pct(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export async function run(): Promise<BenchResult> {
  const { url, db, stop } = await benchDatabase("bench_pause", Number(process.env.MALLEO_BENCH_PG_PORT ?? 22392));
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "malleo-pause-"));
  await seedSimulatedHosts(db, dataDir);
  await seedApplicationVm(db, {
    applicationId: "heat",
    kind: "heat",
    config: HEAT,
    vm: { name: "heat-1", hostId: "pm-1", vcpus: 4, memoryMiB: 8192 },
  });
  const worker = await startWorker(
    loadWorkerEnv({
      DATABASE_URL: url,
      MALLEO_DATA_DIR: dataDir,
      MALLEO_EXECUTOR_ID: "pause-bench",
      MALLEO_POLL_MS: "100",
      // The live transfer's tuning, to compare settings in one place.
      MALLEO_LIVE_CHUNK_ACTORS: process.env.MALLEO_LIVE_CHUNK_ACTORS,
      MALLEO_LIVE_MOVES_IN_FLIGHT: process.env.MALLEO_LIVE_MOVES_IN_FLIGHT,
    }),
  );
  const finish = async (id: string) => {
    for (;;) {
      const op = await db.operation.findUniqueOrThrow({ where: { id }, include: { steps: true } });
      if (["succeeded", "failed", "rolled_back"].includes(op.status)) return op;
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const running = () => db.vm.findMany({ where: { state: "running", applicationId: "heat" } });
  const measure = async (kind: "split" | "merge", mode: TransferMode, id: string): Promise<Measured> => {
    const op = await finish(id);
    if (op.status !== "succeeded") throw new Error(`${kind} (${mode}) ended ${op.status}: ${op.error}`);
    const ms = (name: string) =>
      op.steps
        .filter((s) => s.name === name && s.status === "succeeded" && s.finishedAt)
        .reduce((n, s) => n + (s.finishedAt!.getTime() - s.startedAt.getTime()), 0);
    const total = op.finishedAt!.getTime() - (op.startedAt ?? op.createdAt).getTime();
    return {
      kind,
      mode,
      pauseMs: op.pauseMs,
      holdP50Ms: op.holdP50Ms,
      holdP99Ms: op.holdP99Ms,
      holdMaxMs: op.holdMaxMs,
      endToEndExclBootMs: total - ms("provision"),
      transferMs: ms("transfer"),
      provisionMs: ms("provision"),
    };
  };
  // The application runs before anything is measured.
  for (;;) {
    const app = await db.application.findUniqueOrThrow({ where: { id: "heat" } });
    if (app.iteration > 5) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const results: Measured[] = [];
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const mode of ["live", "barrier"] as const) {
        const [source] = await running();
        const split = await submitSplit(
          db,
          { vmId: source!.id, count: 2, targetHostIds: ["pm-2", "pm-3"], transfer: mode },
          "bench",
        );
        results.push(await measure("split", mode, split.id));
        const halves = await running();
        const merge = await submitMerge(db, { vmIds: halves.map((v) => v.id), targetHostId: "pm-1", transfer: mode }, "bench");
        results.push(await measure("merge", mode, merge.id));
        const last = results.slice(-2);
        for (const r of last)
          console.log(
            `  round ${round + 1} ${r.kind} ${r.mode}: pause ${r.pauseMs} ms, hold p50/p99/max ${r.holdP50Ms}/${r.holdP99Ms}/${r.holdMaxMs} ms, ` +
              `end to end excl. boot ${r.endToEndExclBootMs} ms (transfer ${r.transferMs} ms, boot ${r.provisionMs} ms)`,
          );
      }
    }
  } finally {
    await worker.stop();
    await stop();
    rmSync(dataDir, { recursive: true, force: true });
  }

  const figures: Record<string, number | string> = {
    actors: ACTORS,
    "state, MiB": (ACTORS * HEAT.width * (HEAT.height / ACTORS) * 8) / 2 ** 20,
    rounds: ROUNDS,
    "load average (1 min) at the end": loadavg()[0]!,
  };
  const summary = (mode: TransferMode, label: string) => {
    const ops = results.filter((r) => r.mode === mode);
    const pauses = ops.map((r) => r.pauseMs).filter((v): v is number => v !== null);
    const holds50 = ops.map((r) => r.holdP50Ms ?? NaN);
    const holds99 = ops.map((r) => r.holdP99Ms ?? NaN);
    const holdsMax = ops.map((r) => r.holdMaxMs ?? NaN);
    const splits = ops.filter((r) => r.kind === "split").map((r) => r.endToEndExclBootMs);
    const merges = ops.filter((r) => r.kind === "merge").map((r) => r.endToEndExclBootMs);
    figures[`${label}: application pause p50, ms`] = pct(pauses, 50);
    figures[`${label}: application pause p99, ms`] = pct(pauses, 99);
    figures[`${label}: application pause max, ms`] = Math.max(...pauses);
    figures[`${label}: operations with a measured pause`] = `${pauses.length} of ${ops.length}`;
    figures[`${label}: actor hold p50 (median over operations), ms`] = pct(holds50, 50);
    figures[`${label}: actor hold p99 (worst operation), ms`] = Math.max(...holds99);
    figures[`${label}: actor hold max, ms`] = Math.max(...holdsMax);
    figures[`${label}: split end to end excl. boot p50, ms`] = pct(splits, 50);
    figures[`${label}: merge end to end excl. boot p50, ms`] = pct(merges, 50);
    figures[`${label}: VM boot (Provision) p50, ms`] = pct(
      ops.map((r) => r.provisionMs),
      50,
    );
    return { pauses, splits };
  };
  const live = summary("live", "live");
  summary("barrier", "barrier (baseline)");
  return {
    figures,
    checks: [
      { what: "live: application pause p99, ms", value: pct(live.pauses, 99), goal: 50, better: "lower" },
      { what: "live: split end to end excluding boot (p50), ms", value: pct(live.splits, 50), goal: 1000, better: "lower" },
    ],
  };
}
