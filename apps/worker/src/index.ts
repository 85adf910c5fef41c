export { startWorker, type RunningWorker } from "./worker";
export { loadWorkerEnv, type WorkerEnv } from "./env";
