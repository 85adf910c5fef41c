// upgrade: what an upgrade costs a running application. PageRank built as a bundle (ranks 2.0.0,
// and 2.1.0 with the same state format) deployed on two simulated hosts' VMs, upgraded back and
// forth by each strategy in turn for several rounds: rolling (new VMs on the new version, every
// actor moved to them live) and restart (the baseline, in the same run: every theater restarted
// and every actor restored from one checkpoint). One instrument for both: the worker's Mediator's
// progress events (each theater reports its actors' iterations every 200 ms), from which the
// application's pause is the longest stretch in which no actor reported progress, during the
// operation, less the longest such stretch in the 2 s before it; and the work redone is the sum
// over actors of how far each went back (an actor restored from a checkpoint repeats iterations
// it had already done). Also each operation's end to end time, and for the rolling one the
// worker's own 1 ms pause measure and the actors' hold p99 it records.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os, { loadavg } from "node:os";
import path from "node:path";
import type { UpgradeStrategy } from "@malleo/core";
import { registerBundle } from "@malleo/api";
import type { PagerankConfig } from "@malleo/pagerank";
import { buildBundle } from "@malleo/sdk/bundle/build";
import { submitDeploy, submitUpgrade } from "@malleo/workflows";
import { seedSimulatedHosts } from "@malleo/testing";
import { loadWorkerEnv } from "../apps/worker/src/env";
import { startWorker } from "../apps/worker/src/worker";
import { benchDatabase } from "./lib/database";
import { percentile } from "./stats";
import type { BenchResult } from "./run";

const ROUNDS = Number(process.env.UPGRADE_BENCH_ROUNDS ?? 3);
const APP = "ranks-bench";
const RANKS: PagerankConfig = {
  nodes: 20_000,
  partitions: 16,
  maxOutDegree: 8,
  seed: 11,
  damping: 0.85,
  maxIterations: null,
  iterationDelayMs: 20,
};
const BASELINE_MS = 2_000;
const SETTLE_MS = 1_500;

interface Measured {
  strategy: UpgradeStrategy;
  pauseMs: number;
  redoneIterations: number;
  endToEndMs: number;
  recordedPauseMs: number | null;
  holdP99Ms: number | null;
}

/** The longest stretch between consecutive progress arrivals within [from, to] (its ends count as arrivals' bounds). */
function longestGap(times: number[], from: number, to: number): number {
  const inside = times.filter((t) => t >= from && t <= to);
  let last = from;
  let gap = 0;
  for (const t of inside) {
    gap = Math.max(gap, t - last);
    last = t;
  }
  return Math.max(gap, to - last);
}

export async function run(): Promise<BenchResult> {
  const { url, db, stop } = await benchDatabase("bench_upgrade", Number(process.env.MALLEO_BENCH_PG_PORT ?? 22394));
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "malleo-upgrade-bench-"));
  await seedSimulatedHosts(db, dataDir);
  const root = path.resolve(import.meta.dirname, "..");
  for (const [src, name] of [
    [path.join(root, "applications/pagerank/test-fixtures/ranks-bundle.ts"), "ranks-2.0.0"],
    [path.join(root, "scripts/chaos-fixtures/ranks-2.1.ts"), "ranks-2.1.0"],
  ] as const) {
    const file = path.join(dataDir, `${name}.bundle.mjs`);
    await buildBundle(src, file);
    await registerBundle(db, readFileSync(file), "bench");
  }
  const worker = await startWorker(
    loadWorkerEnv({
      DATABASE_URL: url,
      MALLEO_DATA_DIR: dataDir,
      MALLEO_EXECUTOR_ID: "upgrade-bench",
      MALLEO_POLL_MS: "100",
      MALLEO_CHECKPOINT_MS: "0", // each upgrade takes the checkpoints it needs
    }),
  );
  // Progress arrivals (ms) and each actor's iterations, as the Mediator hears them.
  const arrivals: number[] = [];
  const reported: { at: number; uan: string; iteration: number }[] = [];
  const unsubscribe = worker.mediator.onProgress((e) => {
    if (e.app !== APP) return;
    const at = Date.now();
    if (arrivals[arrivals.length - 1] !== at) arrivals.push(at);
    reported.push({ at, uan: e.uan, iteration: e.iteration });
  });
  const finish = async (id: string) => {
    for (;;) {
      const op = await db.operation.findUniqueOrThrow({ where: { id } });
      if (["succeeded", "failed", "rolled_back"].includes(op.status)) return op;
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const results: Measured[] = [];
  try {
    const deploy = await submitDeploy(
      db,
      {
        applicationId: APP,
        kind: "ranks",
        version: "2.0.0",
        config: RANKS,
        vms: [
          { hostId: "pm-1", vcpus: 2, memoryMiB: 2048 },
          { hostId: "pm-2", vcpus: 2, memoryMiB: 2048 },
        ],
      },
      "bench",
    );
    const deployed = await finish(deploy.id);
    if (deployed.status !== "succeeded") throw new Error(`the deploy ${deployed.status}: ${deployed.error}`);
    let version = "2.0.0";
    for (let round = 0; round < ROUNDS; round++) {
      for (const strategy of ["rolling", "restart"] as const) {
        await sleep(BASELINE_MS + 500); // running, on its own, before each upgrade
        const to = version === "2.0.0" ? "2.1.0" : "2.0.0";
        const startedAt = Date.now();
        const op = await submitUpgrade(db, { applicationId: APP, version: to, strategy }, "bench");
        const done = await finish(op.id);
        const endedAt = Date.now();
        if (done.status !== "succeeded") throw new Error(`the ${strategy} upgrade to ${to} ended ${done.status}: ${done.error}`);
        version = to;
        await sleep(SETTLE_MS);
        const baseline = longestGap(arrivals, startedAt - BASELINE_MS, startedAt);
        const pauseMs = Math.max(0, longestGap(arrivals, startedAt, endedAt + SETTLE_MS) - baseline);
        // How far each actor went back: its highest iteration before any lower one it reported later.
        let redone = 0;
        const highest = new Map<string, number>();
        for (const r of reported.filter((x) => x.at >= startedAt - BASELINE_MS)) {
          const top = highest.get(r.uan) ?? -1;
          if (r.at >= startedAt && r.iteration < top) {
            redone += top - r.iteration;
            highest.set(r.uan, r.iteration);
          } else highest.set(r.uan, Math.max(top, r.iteration));
        }
        const m: Measured = {
          strategy,
          pauseMs,
          redoneIterations: redone,
          endToEndMs: (done.finishedAt ?? new Date(endedAt)).getTime() - (done.startedAt ?? done.createdAt).getTime(),
          recordedPauseMs: done.pauseMs,
          holdP99Ms: done.holdP99Ms,
        };
        results.push(m);
        console.log(
          `  round ${round + 1} ${strategy} → ${to}: pause ${m.pauseMs} ms (baseline gap ${baseline} ms), iterations redone ${m.redoneIterations}, ` +
            `end to end ${m.endToEndMs} ms${strategy === "rolling" ? `, worker-recorded pause ${m.recordedPauseMs} ms, hold p99 ${m.holdP99Ms} ms` : ""}`,
        );
      }
    }
  } finally {
    unsubscribe();
    await worker.stop();
    await stop();
    rmSync(dataDir, { recursive: true, force: true });
  }

  const of = (s: UpgradeStrategy) => results.filter((r) => r.strategy === s);
  const figures: Record<string, number | string> = {
    "actors (PageRank partitions)": RANKS.partitions,
    "graph nodes": RANKS.nodes,
    VMs: 2,
    rounds: ROUNDS,
    "load average (1 min) at the end": loadavg()[0]!,
  };
  for (const [s, label] of [
    ["rolling", "rolling"],
    ["restart", "restart (baseline)"],
  ] as const) {
    const ops = of(s);
    figures[`${label}: application pause p50, ms`] = percentile(
      ops.map((r) => r.pauseMs),
      50,
    );
    figures[`${label}: application pause max, ms`] = Math.max(...ops.map((r) => r.pauseMs));
    figures[`${label}: iterations redone, total over actors (p50)`] = percentile(
      ops.map((r) => r.redoneIterations),
      50,
    );
    figures[`${label}: end to end p50, ms`] = percentile(
      ops.map((r) => r.endToEndMs),
      50,
    );
  }
  const rolling = of("rolling");
  figures["rolling: worker-recorded pause p50 (1 ms resolution), ms"] = percentile(
    rolling.map((r) => r.recordedPauseMs ?? NaN).filter((v) => !Number.isNaN(v)),
    50,
  );
  figures["rolling: actor hold p99 (worst upgrade), ms"] = Math.max(...rolling.map((r) => r.holdP99Ms ?? NaN));
  const rollingPause = percentile(
    rolling.map((r) => r.pauseMs),
    50,
  );
  const restartPause = percentile(
    of("restart").map((r) => r.pauseMs),
    50,
  );
  return {
    figures,
    checks: [
      {
        what: "rolling / restart: application pause p50 (same instrument, same run)",
        value: restartPause > 0 ? rollingPause / restartPause : NaN,
        goal: 0.25,
        better: "lower",
      },
      {
        what: "rolling: iterations redone, max over upgrades",
        value: Math.max(...rolling.map((r) => r.redoneIterations)),
        goal: 0,
        better: "lower",
      },
    ],
  };
}
