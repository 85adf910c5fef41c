// The applications a deployment knows, by kind. The worker, the theaters and the API ask this
// registry — never an application by name — for behaviors, configuration checks and actors.
import type { ActorSpec, BehaviorRegistry } from "@malleo/actors";
import { ApplicationModuleError, applicationModuleProblems, contiguousLayout, type ApplicationModule } from "./application";

/** A configuration the application's schema refused, with the schema's messages (path: message). */
export class ApplicationConfigError extends Error {
  constructor(
    readonly kind: string,
    readonly issues: string[],
  ) {
    super(`the ${kind} configuration is invalid: ${issues.join("; ")}`);
    this.name = "ApplicationConfigError";
  }
}

/** A kind no module of the registry provides. */
export class UnknownApplicationKindError extends Error {
  constructor(
    readonly kind: string,
    readonly known: readonly string[],
  ) {
    super(`no application of kind ${JSON.stringify(kind)} is installed (installed: ${known.join(", ") || "none"})`);
    this.name = "UnknownApplicationKindError";
  }
}

export interface ApplicationSummary {
  kind: string;
  version: string;
  description: string;
  defaultConfig: unknown;
}

export class ApplicationRegistry {
  private readonly modules = new Map<string, ApplicationModule>();
  private readonly allBehaviors: Record<string, BehaviorRegistry[string]> = {};

  constructor(modules: Iterable<ApplicationModule<unknown>> = []) {
    for (const module of modules) this.register(module);
  }

  /** Adds a module; refuses one that is not an application, or whose kind or behaviors another module has. */
  register(module: ApplicationModule<unknown>): void {
    const problems = applicationModuleProblems(module);
    if (problems.length > 0) throw new ApplicationModuleError(problems);
    const m = module as ApplicationModule;
    if (this.modules.has(m.kind)) throw new ApplicationModuleError([`kind ${JSON.stringify(m.kind)} is already registered`]);
    for (const name of Object.keys(m.behaviors)) {
      if (name in this.allBehaviors) throw new ApplicationModuleError([`behavior ${JSON.stringify(name)} is already registered`]);
    }
    this.modules.set(m.kind, m);
    Object.assign(this.allBehaviors, m.behaviors);
  }

  kinds(): string[] {
    return [...this.modules.keys()].sort();
  }

  has(kind: string): boolean {
    return this.modules.has(kind);
  }

  get(kind: string): ApplicationModule {
    const module = this.modules.get(kind);
    if (!module) throw new UnknownApplicationKindError(kind, this.kinds());
    return module;
  }

  summaries(): ApplicationSummary[] {
    return this.kinds().map((kind) => {
      const m = this.get(kind);
      return { kind, version: m.version, description: m.description, defaultConfig: m.defaultConfig };
    });
  }

  /** Every behavior of every application, for a theater to register. */
  behaviors(): BehaviorRegistry {
    return { ...this.allBehaviors };
  }

  /** The configuration as the application's schema reads it (defaults filled in); refuses with every issue. */
  parseConfig(kind: string, config: unknown): unknown {
    const parsed = this.get(kind).configSchema.safeParse(config);
    if (parsed.success) return parsed.data;
    throw new ApplicationConfigError(
      kind,
      parsed.error.issues.map((issue) => (issue.path.length > 0 ? `${issue.path.join(".")}: ${issue.message}` : issue.message)),
    );
  }

  /** The application's actors for a configuration (checked by its schema first). */
  actorSpecs(kind: string, appId: string, config: unknown): ActorSpec[] {
    return this.get(kind).actors(appId, this.parseConfig(kind, config));
  }

  /** Its actors laid out onto `vms` first VMs: one list per VM, every actor exactly once. */
  layout(kind: string, actors: readonly ActorSpec[], vms: number): ActorSpec[][] {
    const module = this.get(kind);
    const groups = module.layout ? module.layout(actors, vms) : contiguousLayout(actors, vms);
    checkLayout(kind, actors, vms, groups);
    return groups;
  }

  /** The progress an actor's behavior reports for a state (e.g. the iteration), if it reports one. */
  progressOf(behavior: string, state: unknown): number | undefined {
    return this.allBehaviors[behavior]?.progress?.(state);
  }
}

function checkLayout(kind: string, actors: readonly ActorSpec[], vms: number, groups: ActorSpec[][]): void {
  if (groups.length !== vms) throw new Error(`the ${kind} layout gave ${groups.length} groups for ${vms} VMs`);
  const expected = new Set(actors.map((a) => a.uan));
  const seen = new Set<string>();
  for (const spec of groups.flat()) {
    if (!expected.has(spec.uan) || seen.has(spec.uan)) throw new Error(`the ${kind} layout places ${spec.uan} wrongly`);
    seen.add(spec.uan);
  }
  if (seen.size !== expected.size) throw new Error(`the ${kind} layout leaves ${expected.size - seen.size} actors out`);
}
