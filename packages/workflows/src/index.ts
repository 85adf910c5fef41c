// Safe for the web process: validation, planning and submission only. The durable workflow
// itself (DBOS) is imported by the worker from "@malleo/workflows/worker".
export * from "./submit";
export * from "./deploy";
export * from "./application-kinds";
export * from "./application-actions";
export type * from "./effects";
export * from "./control";
export * from "./queue";
