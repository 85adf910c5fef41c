// An application is a module that exports one `ApplicationModule`: its behaviors, its config
// schema and its initial actors (and how they are laid out onto the application's first VMs).
// Malleo's worker, theaters and API read applications only through this interface.
import type { z } from "zod";
import type { ActorSpec, BehaviorRegistry } from "@malleo/actors";
import { contiguousGroups } from "@malleo/core";

/** Something the application needs besides its actors (e.g. a site to crawl), started before them. */
export interface ApplicationServices<Config> {
  /** The configuration the actors are built from (e.g. with the URL of what was started). */
  config: Config;
  close(): Promise<void>;
}

export interface ApplicationModule<Config = unknown> {
  /** Stable identifier of the application kind: lower-case letters, digits and dashes. */
  readonly kind: string;
  /** The module's version (e.g. "1.2.0"), recorded with every deployment. */
  readonly version: string;
  /** One sentence for the operator choosing what to deploy. */
  readonly description: string;
  /** Validates a deployment's configuration; its error messages are shown to the operator as they are. */
  readonly configSchema: z.ZodType<Config>;
  /** A configuration that passes the schema: the deploy form and `malleo apps deploy` start from it. */
  readonly defaultConfig: Config;
  /** Every behavior its actors use, by name. Names start with `<kind>.` so that applications never collide. */
  readonly behaviors: BehaviorRegistry;
  /**
   * The application's actors: a permanent name (`formatUan(appId, …)`), a behavior name and the
   * spawn arguments `init` receives. Called with a configuration the schema accepted.
   * The order matters: it is the actors' ordinal order, which a split keeps contiguous.
   */
  actors(appId: string, config: Config): ActorSpec[];
  /**
   * How the actors are laid out onto the application's first `vms` VMs: one list per VM.
   * Default (`contiguousLayout`): contiguous runs in ordinal order, sizes differing by at most one.
   */
  layout?(actors: readonly ActorSpec[], vms: number): ActorSpec[][];
  /** Started by the runner before the actors are built, closed when it stops. */
  services?(config: Config): Promise<ApplicationServices<Config>>;
  /**
   * The application's result from its actors' states (e.g. an assembled grid), as bytes: what a
   * digest or a bit-exact comparison reads.
   */
  result?(config: Config, states: ReadonlyMap<string, unknown>): ArrayBufferView;
  /**
   * The format of its actors' states (default 1). A new version whose states an older version's
   * checkpoint cannot be restored into as they are raises it — and gives `migrateState`, or an
   * upgrade of a running application to it is refused.
   */
  readonly stateVersion?: number;
  /** A state of an older `stateVersion` (`from`) as this version reads it, for one actor's behavior. */
  migrateState?(state: unknown, from: number, behavior: string): unknown;
}

/** Why a module is not an application: every missing or malformed piece, named. */
export class ApplicationModuleError extends Error {
  constructor(
    readonly problems: string[],
    what = "the module",
  ) {
    super(`${what} is not a Malleo application: ${problems.join("; ")}`);
    this.name = "ApplicationModuleError";
  }
}

const KIND = /^[a-z][a-z0-9-]{0,39}$/;

/** Every problem of a value meant to be an `ApplicationModule`; empty when it is one. */
export function applicationModuleProblems(value: unknown): string[] {
  if (typeof value !== "object" || value === null) return ["it is not an object"];
  const m = value as Record<string, unknown>;
  const problems: string[] = [];
  if (typeof m.kind !== "string") problems.push("`kind` is missing (a string)");
  else if (!KIND.test(m.kind))
    problems.push(`\`kind\` ${JSON.stringify(m.kind)} must be lower-case letters, digits and dashes (at most 40)`);
  if (typeof m.version !== "string" || m.version.length === 0) problems.push("`version` is missing (a string)");
  if (typeof m.description !== "string") problems.push("`description` is missing (a string)");
  const schema = m.configSchema as { safeParse?: unknown } | undefined;
  if (typeof schema?.safeParse !== "function") problems.push("`configSchema` is missing (a zod schema)");
  if (typeof m.actors !== "function") problems.push("`actors(appId, config)` is missing");
  if (m.stateVersion !== undefined && (!Number.isInteger(m.stateVersion) || (m.stateVersion as number) < 1))
    problems.push("`stateVersion` must be a positive integer");
  for (const hook of ["layout", "services", "result", "migrateState"] as const) {
    if (m[hook] !== undefined && typeof m[hook] !== "function") problems.push(`\`${hook}\` must be a function`);
  }
  if (typeof m.behaviors !== "object" || m.behaviors === null)
    problems.push("`behaviors` is missing (an object of behaviors by name)");
  else {
    const names = Object.keys(m.behaviors);
    if (names.length === 0) problems.push("`behaviors` is empty");
    for (const name of names) {
      const behavior = (m.behaviors as Record<string, { init?: unknown; receive?: unknown } | null>)[name];
      if (typeof m.kind === "string" && !name.startsWith(`${m.kind}.`))
        problems.push(`behavior ${JSON.stringify(name)} must be named \`${m.kind}.<name>\``);
      if (typeof behavior?.init !== "function" || typeof behavior.receive !== "function")
        problems.push(`behavior ${JSON.stringify(name)} needs init() and receive()`);
    }
  }
  if (problems.length === 0 && typeof schema?.safeParse === "function") {
    const parsed = (schema.safeParse as (v: unknown) => { success: boolean })(m.defaultConfig);
    if (!parsed.success) problems.push("`defaultConfig` does not pass `configSchema`");
  }
  return problems;
}

/**
 * Declares an application. Checks the module's shape at once, so a mistake shows where it is
 * written rather than when a theater first loads it.
 */
export function defineApplication<Config>(module: ApplicationModule<Config>): ApplicationModule<Config> {
  const problems = applicationModuleProblems(module);
  if (problems.length > 0) throw new ApplicationModuleError(problems, `application ${JSON.stringify(module.kind)}`);
  return module;
}

/** Contiguous runs of actors in ordinal order, one per VM, sizes differing by at most one (earlier runs larger). */
export function contiguousLayout<T>(actors: readonly T[], vms: number): T[][] {
  if (!Number.isInteger(vms) || vms < 1) throw new RangeError(`the number of VMs must be a positive integer, got ${vms}`);
  return contiguousGroups(actors, vms);
}
