// A real worker for an integration test: its own data directory, the simulated hosts registered
// (libvirt's test driver), whatever the test seeds, then the worker itself. Its stop leaves nothing
// running: the worker (theaters, Mediator, DBOS), this process's DBOS queue clients and the
// directory. The test database stays the caller's (createTestDatabase, dropped after the stop).
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { TestDatabase } from "@malleo/db/admin";
import { closeQueueClients } from "@malleo/workflows";
import { loadWorkerEnv, startWorker, type RunningWorker, type WorkerHooks } from "@malleo/worker";
import { DEMO_HOSTS, seedSimulatedHosts } from "./seed";

export interface TestWorkerOptions {
  /** Names the executor (`<name>-worker`) and the data directory (`malleo-<name>-…`). */
  name: string;
  /** The simulated hosts registered before anything else (default pm-1…pm-3). */
  hosts?: typeof DEMO_HOSTS;
  /** Runs once the hosts are registered, before the worker starts: applications, bundles, queued operations. */
  seed?: (dataDir: string) => Promise<void>;
  /** Worker variables besides DATABASE_URL, MALLEO_DATA_DIR, MALLEO_EXECUTOR_ID and MALLEO_POLL_MS=200. */
  env?: Record<string, string>;
  hooks?: WorkerHooks;
}

export interface TestWorker {
  worker: RunningWorker;
  dataDir: string;
  /** Stops the worker and removes its data directory; safe to call twice. */
  stop(): Promise<void>;
}

export async function startTestWorker(t: TestDatabase, opts: TestWorkerOptions): Promise<TestWorker> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), `malleo-${opts.name}-`));
  let worker: RunningWorker | undefined;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    try {
      await worker?.stop();
      await closeQueueClients();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  };
  try {
    await seedSimulatedHosts(t.db, dataDir, opts.hosts);
    await opts.seed?.(dataDir);
    worker = await startWorker(
      loadWorkerEnv({
        DATABASE_URL: t.url,
        MALLEO_DATA_DIR: dataDir,
        MALLEO_EXECUTOR_ID: `${opts.name}-worker`,
        MALLEO_POLL_MS: "200",
        ...opts.env,
      }),
      opts.hooks,
    );
  } catch (e) {
    await stop();
    throw e;
  }
  return { worker, dataDir, stop };
}
