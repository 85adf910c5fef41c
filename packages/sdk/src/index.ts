// @malleo/sdk: everything an application for Malleo is written against (docs/applications.md).
//
// - behaviors: `ActorBehavior` (init, start, receive, isSafePoint, progress) and `ActorContext`
//   (send, schedule, holdRequested, log), registered by name;
// - the application module: `defineApplication` (kind, version, config schema, behaviors, the
//   initial actors, their layout onto the first VMs, optional services and result);
// - names: `formatUan` / `parseUan`;
// - `ApplicationRegistry`: the modules a deployment runs;
// - `@malleo/sdk/testing`: the local harness (real theaters, moves between them).
export type { ActorBehavior, ActorContext, ActorSpec, BehaviorRegistry } from "@malleo/actors";
export { appOfUan, formatUan, parseUan, type ParsedUan } from "@malleo/actors/names";
export {
  ApplicationModuleError,
  applicationModuleProblems,
  contiguousLayout,
  defineApplication,
  type ApplicationModule,
  type ApplicationServices,
} from "./application";
export { defineBehavior } from "./behavior";
export { loadApplicationModules } from "./load";
export { ApplicationConfigError, ApplicationRegistry, UnknownApplicationKindError, type ApplicationSummary } from "./registry";
/** The zod the runtime validates configurations with: use it for `configSchema`. */
export { z } from "zod";
