/** The worker's logs: the one schema of packages/core's log.ts, with the operation id on every line of its work. */
export { createLogger, type Logger } from "@malleo/core";
