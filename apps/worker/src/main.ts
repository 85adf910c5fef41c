import { migrateDatabase } from "@malleo/db/admin";
import { loadWorkerEnv } from "./env";
import { createLogger } from "./log";
import { startWorker } from "./worker";

const log = createLogger("worker");
const env = loadWorkerEnv();
// A deployment's first worker brings the schema up to date (serialised by an advisory lock).
await migrateDatabase(env.DATABASE_URL, (m) => log({ event: "migration", detail: m }));
const worker = await startWorker(env);

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log({ event: "worker stopping", signal });
  await worker.stop();
  process.exit(0);
}
process.on("SIGINT", () => void shutdown("SIGINT"));
process.on("SIGTERM", () => void shutdown("SIGTERM"));
