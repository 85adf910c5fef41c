import { DBOS } from "@dbos-inc/dbos-sdk";
import { createDb, ensureDatabase } from "@malleo/db";
import { Mediator } from "@malleo/mediator";
import { installOperationEffects } from "@malleo/workflows/worker";
import { ApplicationRunner } from "./applications";
import { startDispatcher } from "./dispatcher";
import { loadWorkerEnv } from "./env";
import { createLogger } from "./log";
import { VmManager } from "./vm-manager";

const log = createLogger("worker");
const env = loadWorkerEnv();
const db = createDb(env.DATABASE_URL);

const mediator = new Mediator({ host: env.MALLEO_MEDIATOR_HOST, port: env.MALLEO_MEDIATOR_PORT, log: createLogger("mediator") });
const { address } = await mediator.start();
const vms = new VmManager(db, mediator, {
  dataDir: env.dataDir,
  mediatorAddress: address,
  theaterTimeoutMs: env.MALLEO_THEATER_TIMEOUT_MS,
  log,
});
const apps = new ApplicationRunner(db, mediator, log);
const stoppers: (() => void)[] = [];

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log({ event: "worker stopping", signal });
  for (const stop of stoppers) stop();
  apps.stop();
  await DBOS.shutdown().catch((e: Error) => log({ event: "dbos shutdown failed", error: e.message }));
  await vms.shutdown();
  await mediator.stop();
  await db.$disconnect();
  log({ event: "worker stopped" });
  process.exit(0);
}
process.on("SIGINT", () => void shutdown("SIGINT"));
process.on("SIGTERM", () => void shutdown("SIGTERM"));

await vms.connectHosts();
await vms.restoreVms();
await apps.start();

installOperationEffects(
  {
    db,
    awaitActorsReady: (vmId, uans, timeoutMs) => mediator.awaitReady(vmId, uans, timeoutMs),
    provisionVm: (vm) => vms.provisionVm(vm),
    destroyVm: (vmId) => vms.destroyVm(vmId),
    migrateActors: (uans, from, to) => mediator.migrate(uans, from, to),
    resumeActors: (vmId, uans) => mediator.resume(vmId, uans),
    log: createLogger("workflow"),
  },
  { readyMs: env.MALLEO_READY_TIMEOUT_MS },
);
const sys = new URL(env.systemDatabaseUrl);
await ensureDatabase(Object.assign(new URL(sys), { pathname: "/postgres" }).toString(), sys.pathname.slice(1));
DBOS.setConfig({
  name: "malleo",
  systemDatabaseUrl: env.systemDatabaseUrl,
  executorID: env.MALLEO_EXECUTOR_ID,
  logLevel: "warn",
});
await DBOS.launch();
stoppers.push(startDispatcher(db, env.DATABASE_URL, env.MALLEO_POLL_MS, log));
log({ event: "worker ready", mediator: address, executorId: env.MALLEO_EXECUTOR_ID });
