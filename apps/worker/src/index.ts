export { startWorker, type RunningWorker, type WorkerHooks } from "./worker";
export { loadWorkerEnv, type WorkerEnv } from "./env";
