// checkpoint: what checkpointing costs a running application, and how fast it comes back after a
// theater dies. Heat diffusion with 1,000 actors (~48 MiB) on simulated hosts: the application's
// pause while a checkpoint takes its cut (measured like an operation's, from the theaters' 1 ms
// progress activity), with the copy made at the theater and, alternately as the same-run baseline,
// shipped whole to the worker while the actors are held; the checkpoint's size and write throughput beside a raw write of the same
// number of bytes into Postgres in the same run, and the time from a theater's SIGKILL to the
// application running again (restored from its last checkpoint), VM boot included.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import os, { loadavg } from "node:os";
import path from "node:path";
import { applicationPause } from "@malleo/core";
import type { HeatConfig } from "@malleo/examples";
import { seedApplicationVm, seedSimulatedHosts } from "@malleo/testing";
import { loadWorkerEnv } from "../apps/worker/src/env";
import { startWorker } from "../apps/worker/src/worker";
import { benchDatabase } from "./lib/database";
import type { BenchResult } from "./run";

const ACTORS = Number(process.env.CHECKPOINT_BENCH_ACTORS ?? 1000);
const CHECKPOINTS = Number(process.env.CHECKPOINT_BENCH_COUNT ?? 5);
const HEAT: HeatConfig = { width: 1024, height: 4 * ACTORS, actors: ACTORS, maxIterations: null, iterationDelayMs: 20 };

function pct(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function run(): Promise<BenchResult> {
  const { url, db, stop } = await benchDatabase("bench_checkpoint", Number(process.env.MALLEO_BENCH_PG_PORT ?? 22393));
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "malleo-checkpoint-"));
  await seedSimulatedHosts(db, dataDir);
  const vmId = await seedApplicationVm(db, {
    applicationId: "heat",
    kind: "heat",
    config: HEAT,
    vm: { name: "heat-1", hostId: "pm-1", vcpus: 4, memoryMiB: 8192 },
  });
  const worker = await startWorker(
    loadWorkerEnv({
      DATABASE_URL: url,
      MALLEO_DATA_DIR: dataDir,
      MALLEO_EXECUTOR_ID: "checkpoint-bench",
      MALLEO_POLL_MS: "100",
      // No periodic checkpoint: the benchmark takes them itself.
      MALLEO_CHECKPOINT_MS: "0",
    }),
  );
  const pauses: number[] = [];
  const baselinePauses: number[] = [];
  const writeMs: number[] = [];
  let bytes = 0;
  let rawMs = NaN;
  let recoveryMs = NaN;
  let detectedMs = NaN;
  let recoveryAfterBootMs = NaN;
  try {
    for (;;) {
      if ((await db.application.findUniqueOrThrow({ where: { id: "heat" } })).iteration > 5) break;
      await sleep(200);
    }
    await sleep(1500); // a second of normal progress before the first cut
    // Alternately the copy made at the theater (shipped after the resume) and, as the same-run
    // baseline, shipped whole to the worker while the actors are held: the same load for both.
    for (let i = 0; i < 2 * CHECKPOINTS; i++) {
      const copy = i % 2 === 0 ? "theater" : "worker";
      const started = Date.now();
      const outcome = await worker.checkpoints.take("heat", "bench", { copy });
      if ("skipped" in outcome) throw new Error(`checkpoint skipped: ${outcome.skipped}`);
      const resumed = Date.now();
      const meta = await outcome.written;
      if (copy === "theater") writeMs.push(Date.now() - resumed);
      bytes = meta.bytes;
      await sleep(300);
      const windows = await worker.mediator.activity([vmId], started - 1000, resumed + 250);
      const pause = applicationPause(windows, started, resumed + 250);
      if (pause) (copy === "theater" ? pauses : baselinePauses).push(pause.pauseMs);
      console.log(
        `  checkpoint ${i + 1} (copy at the ${copy}): ${meta.bytes} bytes, application pause ${pause?.pauseMs} ms, write ${Date.now() - resumed - 300} ms`,
      );
      await sleep(1200);
    }
    // Baseline: the same number of bytes written raw into Postgres, in the same run.
    const raw = randomBytes(bytes);
    await db.$executeRawUnsafe(`CREATE TABLE IF NOT EXISTS bench_raw (data bytea)`);
    const t0 = Date.now();
    await db.$executeRawUnsafe(`INSERT INTO bench_raw (data) VALUES ($1)`, raw);
    rawMs = Date.now() - t0;

    // Recovery: the theater dies; the application comes back from its last checkpoint.
    const pid = worker.vms.theaterPid(vmId);
    if (!pid) throw new Error("no theater pid");
    const killed = Date.now();
    process.kill(pid, "SIGKILL");
    for (;;) {
      const app = await db.application.findUniqueOrThrow({ where: { id: "heat" } });
      const vm = await db.vm.findUniqueOrThrow({ where: { id: vmId } });
      if (app.status === "degraded" || vm.state === "lost") break;
      await sleep(20);
    }
    detectedMs = Date.now() - killed;
    // The replacement theater registering is the end of the VM's boot; the restore follows.
    let registered = NaN;
    for (;;) {
      const now = worker.mediator.theater(vmId);
      if (Number.isNaN(registered) && now && now.pid !== pid) registered = Date.now();
      const app = await db.application.findUniqueOrThrow({ where: { id: "heat" } });
      if (app.status === "running" && worker.mediator.listActors().length === ACTORS) break;
      await sleep(20);
    }
    recoveryMs = Date.now() - killed;
    recoveryAfterBootMs = Date.now() - registered;
  } finally {
    await worker.stop();
    await stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
  const mbps = (ms: number) => bytes / 2 ** 20 / (ms / 1000);
  return {
    figures: {
      actors: ACTORS,
      checkpoints: CHECKPOINTS,
      "checkpoint size, MiB": bytes / 2 ** 20,
      "application pause per checkpoint p50, ms": pct(pauses, 50),
      "application pause per checkpoint p99, ms": pct(pauses, 99),
      "application pause, copy shipped to the worker while held p50, ms (baseline)": pct(baselinePauses, 50),
      "application pause, copy shipped to the worker while held p99, ms (baseline)": pct(baselinePauses, 99),
      "checkpoint write (background) p50, ms": pct(writeMs, 50),
      "checkpoint write throughput p50, MiB/s": mbps(pct(writeMs, 50)),
      "raw write of the same bytes into Postgres, ms (baseline)": rawMs,
      "raw write throughput, MiB/s (baseline)": mbps(rawMs),
      "recovery from a theater's SIGKILL to running again (boot included), ms": recoveryMs,
      "of which: the loss detected (VM lost, application degraded), ms": detectedMs,
      "recovery excluding boot (the new theater registered → running again), ms": recoveryAfterBootMs,
      "load average (1 min) at the end": loadavg()[0]!,
    },
    checks: [
      { what: "application pause per checkpoint p99, ms", value: pct(pauses, 99), goal: 50, better: "lower" },
      {
        what: "application pause p50, copy at the theater / copy shipped while held",
        value: pct(pauses, 50) / pct(baselinePauses, 50),
        goal: 0.5,
        better: "lower",
      },
      { what: "checkpoint write throughput / raw write", value: rawMs / pct(writeMs, 50), goal: 0.5, better: "higher" },
      { what: "recovery excluding VM boot, ms", value: recoveryAfterBootMs, goal: 2000, better: "lower" },
    ],
  };
}
