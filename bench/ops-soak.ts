// ops-soak: operations per minute sustained on simulated hosts for 2 minutes (MALLEO_SOAK_SECONDS),
// alternating splits and merges of a running heat application, with the failure count and the
// worker's memory at the start (baseline, after warm-up) and at the end.
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { HeatConfig } from "@malleo/examples";
import { submitMerge, submitSplit } from "@malleo/workflows";
import { loadWorkerEnv } from "../apps/worker/src/env";
import { startWorker } from "../apps/worker/src/worker";
import { seedApplicationVm, seedSimulatedHosts } from "@malleo/testing";
import { benchDatabase } from "./lib/database";
import type { BenchResult } from "./run";

const HEAT: HeatConfig = { width: 64, height: 64, actors: 16, maxIterations: null, iterationDelayMs: 5 };

export async function run(): Promise<BenchResult> {
  const seconds = Number(process.env.MALLEO_SOAK_SECONDS ?? 120);
  const { url, db, stop } = await benchDatabase("bench_soak", 22391);
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "malleo-soak-"));
  await seedSimulatedHosts(db, dataDir);
  await seedApplicationVm(db, {
    applicationId: "heat",
    kind: "heat",
    config: HEAT,
    vm: { name: "heat-1", hostId: "pm-1", vcpus: 4, memoryMiB: 8192 },
  });
  const worker = await startWorker(
    loadWorkerEnv({ DATABASE_URL: url, MALLEO_DATA_DIR: dataDir, MALLEO_EXECUTOR_ID: "soak", MALLEO_POLL_MS: "100" }),
  );
  const finish = async (id: string) => {
    for (;;) {
      const op = await db.operation.findUniqueOrThrow({ where: { id } });
      if (["succeeded", "failed", "rolled_back"].includes(op.status)) return op;
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const oneRound = async () => {
    const [source] = await db.vm.findMany({ where: { state: "running" } });
    const split = await finish(
      (await submitSplit(db, { vmId: source!.id, count: 2, targetHostIds: ["pm-2", "pm-3"] }, "soak")).id,
    );
    const halves = await db.vm.findMany({ where: { state: "running" } });
    const merge = await finish((await submitMerge(db, { vmIds: halves.map((v) => v.id), targetHostId: "pm-1" }, "soak")).id);
    return [split.status, merge.status];
  };
  try {
    await oneRound(); // warm-up, not counted
    global.gc?.();
    const rssStart = process.memoryUsage().rss;
    const t0 = Date.now();
    const statuses: string[] = [];
    const halfway: number[] = [];
    while (Date.now() - t0 < seconds * 1000) {
      statuses.push(...(await oneRound()));
      if (Date.now() - t0 < (seconds * 1000) / 2) halfway.push(statuses.length);
    }
    const elapsedMin = (Date.now() - t0) / 60_000;
    global.gc?.();
    const rssEnd = process.memoryUsage().rss;
    const failures = statuses.filter((s) => s !== "succeeded").length;
    const firstHalf = halfway.at(-1) ?? 0;
    return {
      figures: {
        "operations per minute": statuses.length / elapsedMin,
        "operations in the first half (baseline)": firstHalf,
        "operations in the second half": statuses.length - firstHalf,
        operations: statuses.length,
        failures,
        "worker RSS after warm-up, MiB (baseline)": rssStart / 2 ** 20,
        "worker RSS at the end, MiB": rssEnd / 2 ** 20,
        "soak seconds": seconds,
      },
      checks: [
        { what: "failed operations", value: failures, goal: 0, better: "lower" },
        { what: "memory growth over the soak (end RSS / start RSS)", value: rssEnd / rssStart, goal: 1.2, better: "lower" },
      ],
    };
  } finally {
    await worker.stop();
    await stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
