// Behaviors a theater was not started with: those of an application registered as a bundle. The
// theater asks the Mediator for the application's bundle the first time an actor of it is
// spawned, restored or migrated in here, checks its sha256, and hands the bytes to the theater's
// `importBundle` (the theater entry imports the file and returns its behaviors). Requests that
// arrive while a bundle loads wait for it, in order, so a migration's batches and commit keep
// theirs.
import { createHash } from "node:crypto";
import type { ActorBehavior, BehaviorRegistry } from "./behavior";
import type { Channel } from "./channel";
import { appOfUan } from "./names";
import type { BundleReply } from "./protocol";
import type { TheaterRuntime } from "./theater-runtime";

const BUNDLE_REQUEST_TIMEOUT_MS = 60_000;

/** An application bundle as the Mediator sends it. */
export type DeliveredBundle = BundleReply;

export class BundleBehaviors {
  /** While a bundle loads: what requests that must follow it wait for. */
  private gate: Promise<void> | null = null;
  private readonly loading = new Map<string, Promise<void>>();

  constructor(private readonly rt: TheaterRuntime) {}

  /** Runs `task` once every bundle now loading is loaded (at once when none is). */
  afterLoads<T>(task: () => T): T | Promise<T> {
    if (!this.gate) return task();
    return this.gate.then(task, task);
  }

  /**
   * The actors' behaviors this theater lacks, loaded from their applications' bundles; throws
   * naming what stays unknown. `mediator`: the link a spawn or restore came on, asked for the
   * bundle (the theater adopts a link only after its registration reply has been handled, which
   * a request in the same read as that reply comes before); default, the theater's link.
   */
  ensure(actors: readonly { uan: string; behavior: string }[], mediator?: Channel): Promise<void> | undefined {
    const missing = new Map<string, Set<string>>();
    for (const a of actors) {
      if (this.rt.options.behaviors[a.behavior]) continue;
      const app = appOfUan(a.uan);
      missing.set(app, (missing.get(app) ?? new Set()).add(a.behavior));
    }
    if (missing.size === 0) return undefined;
    const loads = [...missing].map(([app, names]) => this.load(app, [...names], mediator));
    const all = Promise.all(loads).then(() => {
      const still = actors.filter((a) => !this.rt.options.behaviors[a.behavior]);
      if (still.length > 0) throw new Error(`unknown behavior "${still[0]!.behavior}" for ${still[0]!.uan}`);
    });
    const gate: Promise<void> = all.catch(() => {});
    this.gate = this.gate ? this.gate.then(() => gate) : gate;
    const current = this.gate;
    void current.then(() => {
      if (this.gate === current) this.gate = null;
    });
    return all;
  }

  private load(applicationId: string, behaviors: string[], mediator: Channel | undefined): Promise<void> {
    const known = this.loading.get(applicationId);
    if (known) return known;
    const run = this.fetchAndImport(applicationId, behaviors, mediator).finally(() => this.loading.delete(applicationId));
    this.loading.set(applicationId, run);
    return run;
  }

  private async fetchAndImport(applicationId: string, behaviors: string[], mediator: Channel | undefined): Promise<void> {
    const { rt } = this;
    const importBundle = rt.options.importBundle;
    if (!importBundle) throw new Error(`unknown behavior "${behaviors[0]}": this theater loads no bundles`);
    const channel = mediator ?? rt.mediator.channel;
    if (!channel) throw new Error(`unknown behavior "${behaviors[0]}": no Mediator to fetch ${applicationId}'s bundle from`);
    const bundle = await channel.request<BundleReply>({ type: "bundle", applicationId, behaviors }, BUNDLE_REQUEST_TIMEOUT_MS);
    const bytes = bundle.bytes instanceof Uint8Array ? bundle.bytes : new Uint8Array(0);
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    if (sha256 !== bundle.sha256)
      throw new Error(
        `the ${bundle.kind} ${bundle.version} bundle arrived with sha256 ${sha256}, not the registered ${bundle.sha256}`,
      );
    const registry: BehaviorRegistry = await importBundle({ ...bundle, bytes });
    for (const [name, behavior] of Object.entries(registry)) {
      if (!name.startsWith(`${bundle.kind}.`) || rt.options.behaviors[name]) continue;
      (rt.options.behaviors as Record<string, ActorBehavior<unknown, unknown>>)[name] = behavior;
    }
    rt.log("info", "bundle loaded", { applicationId, kind: bundle.kind, version: bundle.version, sha256 });
  }
}
