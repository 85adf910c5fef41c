import type { inferRouterInputs, inferRouterOutputs } from "@trpc/server";
import type { AppRouter } from "./root";

export { appRouter, createCaller, type AppRouter } from "./root";
export { createTRPCContext, type Context, type AppErrorData } from "./trpc";
export { createEventHub, malleoEventSchema, type EventHub } from "./event-hub";
export { TRPC_CODE_BY_APP_CODE, trpcCodeForAppCode, describeInputIssues } from "./errors";

export type RouterInputs = inferRouterInputs<AppRouter>;
export type RouterOutputs = inferRouterOutputs<AppRouter>;
