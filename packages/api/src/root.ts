import { applicationsRouter } from "./routers/applications";
import { auditRouter } from "./routers/audit";
import { authRouter } from "./routers/auth";
import { chartsRouter } from "./routers/charts";
import { eventsRouter } from "./routers/events";
import { hostsRouter } from "./routers/hosts";
import { operationsRouter } from "./routers/operations";
import { topologyRouter } from "./routers/topology";
import { usersRouter } from "./routers/users";
import { vmsRouter } from "./routers/vms";
import { createCallerFactory, createTRPCRouter } from "./trpc";

/** The whole API, one router per noun. */
export const appRouter = createTRPCRouter({
  topology: topologyRouter,
  vms: vmsRouter,
  applications: applicationsRouter,
  operations: operationsRouter,
  events: eventsRouter,
  auth: authRouter,
  users: usersRouter,
  audit: auditRouter,
  charts: chartsRouter,
  hosts: hostsRouter,
});

export type AppRouter = typeof appRouter;

/** Server-side calls without HTTP (tests, server components). */
export const createCaller = createCallerFactory(appRouter);
