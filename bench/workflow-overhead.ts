// workflow-overhead: what a durable step adds over the same step run bare. The step body is
// the same in both: one small query on the application database. "durable" is DBOS.runStep
// (checkpoint in the system database); "recorded" is what every operation step really costs:
// the DBOS checkpoint plus the operation_steps start/finish rows and the NOTIFY the UI hears.
import { randomUUID } from "node:crypto";
import { DBOS } from "@dbos-inc/dbos-sdk";
import { installOperationEffects, recordedStep } from "@malleo/workflows/worker";
import { benchDatabase } from "./lib/database";
import type { BenchResult } from "./run";

const STEPS = 200;

export async function run(): Promise<BenchResult> {
  const { url, db, stop } = await benchDatabase("bench_workflow", 22390);
  const body = async () => (await db.$queryRaw<{ one: number }[]>`SELECT 1 AS one`)[0]!.one;
  const unused = () => Promise.reject(new Error("not used by this benchmark"));
  installOperationEffects({
    db,
    awaitActorsReady: unused,
    provisionVm: unused,
    destroyVm: unused,
    migrateActors: unused,
    resumeActors: unused,
    locateActors: unused,
    startApplication: unused,
    stopApplication: unused,
    checkpointApplication: unused,
    theaterLost: unused,
    log: () => {},
  });
  const operationId = randomUUID();
  await db.operation.create({ data: { id: operationId, kind: "split", input: {}, status: "running" } });

  const durable = DBOS.registerWorkflow(
    async (n: number) => {
      const t0 = performance.now();
      for (let i = 0; i < n; i++) await DBOS.runStep(body, { name: `s${i}` });
      return performance.now() - t0;
    },
    { name: "bench.durable" },
  );
  const recorded = DBOS.registerWorkflow(
    async (n: number) => {
      const t0 = performance.now();
      for (let i = 0; i < n; i++) await recordedStep(operationId, "transfer", body);
      return performance.now() - t0;
    },
    { name: "bench.recorded" },
  );
  DBOS.setConfig({ name: "malleo-bench", systemDatabaseUrl: `${url}_dbos`, executorID: "bench", logLevel: "error" });
  await DBOS.launch();
  try {
    // Warm up every path once.
    for (let i = 0; i < 20; i++) await body();
    await durable(5);
    await recorded(5);

    const t0 = performance.now();
    for (let i = 0; i < STEPS; i++) await body();
    const bareMs = (performance.now() - t0) / STEPS;
    const durableMs = (await durable(STEPS)) / STEPS;
    const recordedMs = (await recorded(STEPS)) / STEPS;
    return {
      figures: {
        "bare step, ms (baseline)": bareMs,
        "DBOS durable step, ms": durableMs,
        "recorded operation step (DBOS + operation_steps + NOTIFY), ms": recordedMs,
        "overhead of a durable step, ms": durableMs - bareMs,
        "overhead of a recorded operation step, ms": recordedMs - bareMs,
        steps: STEPS,
      },
      checks: [
        {
          what: "time a recorded durable step adds over the bare step, ms",
          value: recordedMs - bareMs,
          goal: 10,
          better: "lower",
        },
      ],
    };
  } finally {
    await DBOS.shutdown();
    await stop();
  }
}
