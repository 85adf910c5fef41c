// What every process may import: the Prisma client, repositories and events. Server
// administration (migrations, embedded Postgres, test databases) is "@malleo/db/admin".
export * from "./client";
export * from "./events";
export * from "./errors";
export * from "./repos/hosts";
export * from "./repos/vms";
export * from "./repos/actors";
export * from "./repos/applications";
export * from "./repos/operations";
export * from "./repos/topology";
export * from "./repos/cpu-samples";
export * from "./repos/communication";
export * from "./repos/host-health";
export * from "./repos/users";
export * from "./repos/sessions";
export * from "./repos/sign-in-throttle";
export * from "./repos/api-tokens";
export * from "./repos/audit";
export * from "./repos/operation-history";
export * from "./repos/telemetry";
export * from "./repos/topology-summary";
export * from "./repos/workers";
export * from "./repos/recovery";
export * from "./repos/host-probes";
export * from "./repos/application-bundles";
export type {
  Host,
  Vm,
  Actor,
  Operation,
  OperationStep,
  Application,
  User,
  UserRole,
  AuditEvent,
  Worker,
} from "./generated/prisma/client";
