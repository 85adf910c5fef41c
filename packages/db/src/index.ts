// What every process may import: the Prisma client, repositories and events. Server
// administration (migrations, embedded Postgres, test databases) is "@malleo/db/admin".
export * from "./client";
export * from "./events";
export * from "./repos/hosts";
export * from "./repos/vms";
export * from "./repos/actors";
export * from "./repos/applications";
export * from "./repos/operations";
export * from "./repos/topology";
export type { Host, Vm, Actor, Operation, OperationStep, Application } from "./generated/prisma/client";
