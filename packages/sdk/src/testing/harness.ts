// The local test harness: an application author's actors on several real theaters — separate
// processes, as on VMs, or in this process for speed and a debugger — driven by a real Mediator,
// with the moves a split or a merge makes (live, or behind a ready barrier). No database, no
// hypervisor: what it checks is the application's own invariants across moves.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Theater, spawnLocalTheater, type ActorSpec, type LocalTheaterProcess } from "@malleo/actors";
import { Mediator } from "@malleo/mediator";
import { contiguousLayout, type ApplicationModule } from "../application";
import { ApplicationRegistry } from "../registry";

export type TransferMode = "live" | "barrier";

export interface HarnessOptions<Config> {
  application: ApplicationModule<Config>;
  /** Theater names (as many as VMs you want), or how many (`t0`, `t1`, …). */
  theaters: number | readonly string[];
  /**
   * "processes" (default): one theater process each, which imports `moduleFile` — what a VM
   * runs. "in-process": theaters in this process, sharing its memory (faster; not a proof that
   * the state survives serialisation between processes — migrations still serialise it).
   */
  mode?: "processes" | "in-process";
  /** The file that exports the application (absolute path or file: URL). Needed for "processes". */
  moduleFile?: string | URL;
  /** The application's id in its actors' names (default: its kind). */
  appId?: string;
  /** How long to wait for a theater to register, for actors to be ready (default 20 s). */
  timeoutMs?: number;
}

interface RunningTheater {
  /** The process is killed or the in-process theater crashes: as a VM pulled out. */
  kill(): void;
  exited: Promise<unknown>;
}

export class ApplicationHarness<Config> {
  readonly mediator = new Mediator({ log: () => {} });
  readonly theaters: string[];
  readonly appId: string;
  private readonly running = new Map<string, RunningTheater>();
  private readonly progressByActor = new Map<string, number>();
  private readonly logDir = mkdtempSync(path.join(tmpdir(), "malleo-harness-"));
  private specs: ActorSpec[] = [];
  private config: Config | undefined;
  private address = "";
  private readonly timeoutMs: number;

  private constructor(private readonly options: HarnessOptions<Config>) {
    this.theaters =
      typeof options.theaters === "number" ? Array.from({ length: options.theaters }, (_, i) => `t${i}`) : [...options.theaters];
    if (this.theaters.length === 0) throw new Error("the harness needs at least one theater");
    if (new Set(this.theaters).size !== this.theaters.length) throw new Error("theater names must differ");
    this.appId = options.appId ?? options.application.kind;
    this.timeoutMs = options.timeoutMs ?? 20_000;
    // Fails here, not in a theater, if the module is not an application.
    new ApplicationRegistry([options.application as ApplicationModule<unknown>]);
    if ((options.mode ?? "processes") === "processes" && !options.moduleFile)
      throw new Error('mode "processes" needs `moduleFile`: the file the theater processes import the application from');
  }

  /** Starts the Mediator and every theater, and waits until each has registered. */
  static async start<Config>(options: HarnessOptions<Config>): Promise<ApplicationHarness<Config>> {
    const harness = new ApplicationHarness(options);
    try {
      await harness.boot();
    } catch (error) {
      await harness.stop();
      throw error;
    }
    return harness;
  }

  private async boot(): Promise<void> {
    this.address = (await this.mediator.start()).address;
    this.mediator.onProgress((e) => {
      if (e.iteration >= (this.progressByActor.get(e.uan) ?? -Infinity)) this.progressByActor.set(e.uan, e.iteration);
    });
    for (const name of this.theaters) this.startTheater(name);
    await Promise.all(this.theaters.map((name) => this.mediator.awaitTheater(name, this.timeoutMs)));
  }

  private startTheater(name: string): void {
    const secret = `harness-${name}-${process.pid}`;
    this.mediator.expectTheater(name, secret);
    if ((this.options.mode ?? "processes") === "in-process") {
      const theater = new Theater({
        vmId: name,
        mediator: this.address,
        secret,
        behaviors: this.options.application.behaviors,
        log: () => {},
      });
      void theater.start().catch(() => {});
      this.running.set(name, { kill: () => theater.simulateCrash(), exited: Promise.resolve() });
      return;
    }
    const file = this.options.moduleFile!;
    const modulePath = typeof file === "string" ? file : fileURLToPath(file);
    const child: LocalTheaterProcess = spawnLocalTheater({
      vmId: name,
      mediator: this.address,
      secret,
      logFile: this.logFile(name),
      applicationModules: [path.resolve(modulePath)],
    });
    this.running.set(name, { kill: () => child.kill(), exited: child.exited });
  }

  private logFile(theater: string): string {
    return path.join(this.logDir, `${theater}.log`);
  }

  /** What a theater process logged (JSON lines): the first thing to read when a test fails. */
  theaterLog(theater: string): string {
    try {
      return readFileSync(this.logFile(theater), "utf8");
    } catch {
      return "";
    }
  }

  /**
   * Validates `config` with the application's schema, builds its actors and lays them out onto
   * the first `vms` theaters (default: all) with the application's layout, and starts them.
   */
  async deploy(config: unknown, options: { vms?: number } = {}): Promise<ActorSpec[]> {
    if (this.specs.length > 0) throw new Error("the application is already deployed in this harness");
    const registry = new ApplicationRegistry([this.options.application as ApplicationModule<unknown>]);
    const kind = this.options.application.kind;
    this.config = registry.parseConfig(kind, config) as Config;
    const vms = options.vms ?? this.theaters.length;
    if (vms < 1 || vms > this.theaters.length) throw new Error(`vms must be between 1 and ${this.theaters.length}, got ${vms}`);
    this.specs = this.options.application.actors(this.appId, this.config);
    const groups = registry.layout(kind, this.specs, vms);
    // Spawned one theater at a time: `start` runs after each batch exists, and neighbours on
    // other theaters are reached through the directory as soon as they are spawned.
    for (const [index, group] of groups.entries())
      if (group.length > 0) await this.mediator.spawnActors(this.theaters[index]!, group);
    return this.specs;
  }

  /** Every actor's name, in ordinal order. */
  get actors(): string[] {
    return this.specs.map((s) => s.uan);
  }

  /** Which theater hosts each actor now. */
  where(): Map<string, string> {
    return new Map(this.mediator.listActors().map((a) => [a.uan, a.vmId]));
  }

  /** The actors a theater hosts now, in ordinal order. */
  actorsOn(theater: string): string[] {
    const where = this.where();
    return this.actors.filter((uan) => where.get(uan) === theater);
  }

  /** The latest progress each actor reported (its behavior's `progress`). */
  progress(): Map<string, number> {
    return new Map(this.progressByActor);
  }

  /** Waits until every actor has reported progress of at least `value`. */
  async waitForProgress(value: number, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const least = Math.min(...this.actors.map((uan) => this.progressByActor.get(uan) ?? -Infinity));
      if (least >= value) return;
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for every actor to reach progress ${value} (least: ${least})`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /**
   * Moves actors to `to`, wherever each lives now. "live": each actor is held only while it
   * moves and runs on arrival; "barrier": every source holds all of its moving actors at their
   * safe points first, and they resume together on the target once all have moved.
   */
  async move(uans: readonly string[], to: string, options: { mode?: TransferMode } = {}): Promise<void> {
    const mode = options.mode ?? "live";
    const where = this.where();
    const bySource = new Map<string, string[]>();
    for (const uan of uans) {
      const from = where.get(uan);
      if (from === undefined) throw new Error(`actor ${uan} is not hosted by any theater`);
      if (from !== to) bySource.set(from, [...(bySource.get(from) ?? []), uan]);
    }
    if (mode === "barrier") {
      await Promise.all(
        [...bySource].map(async ([from, group]) => {
          const { notReady } = await this.mediator.awaitReady(from, group, this.timeoutMs);
          if (notReady.length > 0) throw new Error(`not ready in time on ${from}: ${notReady.join(", ")}`);
        }),
      );
    }
    await Promise.all(
      [...bySource].map(([from, group]) => this.mediator.migrate(group, from, to, { resumeOnArrival: mode === "live" })),
    );
    if (mode === "barrier" && bySource.size > 0) await this.mediator.resume(to, [...bySource.values()].flat());
  }

  /**
   * What a split does to the actors of `from`: divides them (in ordinal order, by the
   * application's layout) among `targets`; a target may be `from` itself (its group stays).
   */
  async split(from: string, targets: readonly string[], options: { mode?: TransferMode } = {}): Promise<void> {
    const onSource = this.specs.filter((s) => this.actorsOn(from).includes(s.uan));
    const layout = this.options.application.layout ?? contiguousLayout;
    const groups = layout(onSource, targets.length);
    await Promise.all(
      groups.map((group, index) =>
        this.move(
          group.map((s) => s.uan),
          targets[index]!,
          options,
        ),
      ),
    );
  }

  /** What a merge does: every actor of `sources` to `target`. */
  async merge(sources: readonly string[], target: string, options: { mode?: TransferMode } = {}): Promise<void> {
    const moving = sources.flatMap((s) => this.actorsOn(s));
    await this.move(moving, target, options);
  }

  /** A snapshot of every actor's state (each taken between two of its handler calls). */
  states(): Promise<Map<string, unknown>> {
    return this.mediator.collectStates(this.actors);
  }

  /** The application's `result` over its actors' states. */
  async result(): Promise<ArrayBufferView> {
    const module = this.options.application;
    if (!module.result) throw new Error(`the ${module.kind} application defines no result()`);
    if (this.config === undefined) throw new Error("deploy the application first");
    return module.result(this.config, await this.states());
  }

  /** Pulls the plug on a theater (its actors are lost): for testing what your application does about it. */
  kill(theater: string): void {
    this.running.get(theater)?.kill();
  }

  async stop(): Promise<void> {
    await this.mediator.stop().catch(() => {});
    for (const theater of this.running.values()) theater.kill();
    await Promise.all([...this.running.values()].map((t) => t.exited));
    this.running.clear();
    rmSync(this.logDir, { recursive: true, force: true });
  }
}

/** True when two results hold the same bytes. */
export function sameBytes(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}
