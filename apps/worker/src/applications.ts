import {
  actorListByApplication,
  actorMove,
  applicationGet,
  applicationList,
  applicationProgressAppend,
  applicationSetIteration,
  operationGet,
  publishEvent,
  stepCount,
  vmListByApplication,
  type Application,
  type Db,
} from "@malleo/db";
import { installedApplications } from "@malleo/applications";
import type { ActorSpec, Mediator } from "@malleo/mediator";
import type { ApplicationRegistry, ApplicationServices } from "@malleo/sdk";
import { bundleActorSpecs } from "@malleo/workflows";
import type { Checkpointer } from "./checkpoints";
import type { Logger } from "./log";

/**
 * Starts every application's actors on the VMs Postgres places them on, and keeps each
 * application's progress (the slowest actor's iteration) in Postgres for the UI.
 */
export class ApplicationRunner {
  private readonly iterations = new Map<string, Map<string, number>>();
  private readonly published = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private unsubscribeRestored: (() => void) | undefined;
  private publishing: Promise<void> = Promise.resolve();
  /** What the applications' `services` started (e.g. a crawler's site), closed at stop; by application. */
  private readonly services = new Map<string, ApplicationServices<unknown>>();
  private readonly specsByApp = new Map<string, ActorSpec[]>();

  constructor(
    private readonly db: Db,
    private readonly mediator: Mediator,
    private readonly log: Logger,
    private readonly checkpoints?: Checkpointer,
    private readonly applications: ApplicationRegistry = installedApplications,
  ) {}

  /**
   * Listens to progress. Called before the Mediator accepts theaters: a theater adopted after a
   * worker restart reports its actors' progress once, as it re-registers, and that must not be missed.
   */
  watchProgress(): void {
    this.unsubscribe ??= this.mediator.onProgress((e) => {
      let m = this.iterations.get(e.app);
      if (!m) this.iterations.set(e.app, (m = new Map()));
      m.set(e.uan, e.iteration);
    });
    // A restore takes the application back to its checkpoint: what its actors reported before is
    // stale, and its recorded progress goes back at once (not on the next report), so nobody
    // reads the old figure once it runs again.
    this.unsubscribeRestored ??= this.checkpoints?.onRestored((app, restored) =>
      this.serialised(async () => {
        this.iterations.set(app, new Map(restored.progress));
        this.published.delete(app);
        await this.publishOne(app, restored.iteration).catch((e: Error) =>
          this.log({ event: "progress not recorded", application: app, error: e.message }),
        );
      }),
    );
  }

  /** Progress writes one at a time: a tick that read the old figures never lands after a restore's. */
  private serialised(task: () => Promise<void>): Promise<void> {
    const run = this.publishing.then(task);
    this.publishing = run.catch(() => {});
    return run;
  }

  async start(): Promise<void> {
    this.watchProgress();
    for (const app of await applicationList(this.db)) await this.startApplication(app);
    this.timer = setInterval(() => void this.publishProgress(), 500);
  }

  /**
   * Starts one application the worker did not start yet (a deploy's Spawn step), or again:
   * actors some theater hosts are kept, the others are spawned where Postgres places them.
   */
  async startOne(applicationId: string): Promise<void> {
    const app = await applicationGet(this.db, applicationId);
    if (!app) throw new Error(`application ${applicationId} does not exist`);
    await this.startApplication(app, { failLoudly: true });
  }

  /** Discards an application's actors on every theater (a rolled-back deploy); its services stay until stop. */
  async discard(applicationId: string): Promise<void> {
    const rows = await actorListByApplication(this.db, applicationId);
    await this.mediator.discardActors(rows.map((a) => a.uan));
    this.specsByApp.delete(applicationId);
    this.log({ event: "application actors discarded", application: applicationId, actors: rows.length });
  }

  private async startApplication(app: Application, options: { failLoudly?: boolean } = {}): Promise<void> {
    let list: ActorSpec[];
    try {
      list = await this.buildActors(app.id, app.kind, app.config, app.bundleVersion);
    } catch (e) {
      this.log({ event: "application not started", application: app.id, kind: app.kind, error: (e as Error).message });
      if (options.failLoudly) throw e;
      return;
    }
    this.specsByApp.set(app.id, list);
    const specs = new Map(list.map((s) => [s.uan, s]));
    const rows = await actorListByApplication(this.db, app.id);
    // A degraded application, or one with a VM whose theater is not running, is recovery's (recovery.ts).
    const unserved = [...new Set(rows.map((a) => a.vmId))].filter((vmId) => !this.mediator.theater(vmId));
    if (app.status !== "running" || unserved.length > 0) {
      this.log({ event: "application left to recovery", application: app.id, status: app.status, vmsWithoutTheater: unserved });
      return;
    }
    // Some actors are not running anywhere (their theaters died with a crashed worker): the
    // whole application comes back from its last checkpoint, a consistent cut, when it has one.
    const liveNow = new Set(this.mediator.listActors().map((a) => a.uan));
    const missing = rows.some((a) => !liveNow.has(a.uan));
    // An upgrade whose restart had begun when the worker died (some theaters rebooted, empty, on
    // the new version; the others still on the old) restores every actor itself when it resumes —
    // or its rollback does. Restoring them here would run them on both versions at once, unmigrated.
    const upgrade = missing ? await this.upgradeRestarting(app.id) : undefined;
    if (upgrade) {
      this.log({ event: "application left to its upgrade", application: app.id, operationId: upgrade });
      return;
    }
    if (this.checkpoints && missing) {
      try {
        const restored = await this.checkpoints.restore(app.id);
        if (restored) {
          this.log({
            event: "application started from checkpoint",
            application: app.id,
            sequence: restored.sequence,
            iteration: restored.iteration,
          });
          return;
        }
      } catch (e) {
        this.log({
          event: "restore from checkpoint failed; starting from scratch",
          application: app.id,
          error: (e as Error).message,
        });
      }
    }
    // Actors in theaters that survived a worker crash are alive and authoritative: keep them,
    // and correct Postgres where a crash fell between a migration and its recording.
    const alive = new Map(this.mediator.listActors().map((a) => [a.uan, a.vmId]));
    const byVm = new Map<string, ActorSpec[]>();
    let adopted = 0;
    for (const a of rows) {
      const spec = specs.get(a.uan);
      if (!spec) continue;
      const liveVm = alive.get(a.uan);
      if (liveVm) {
        adopted++;
        if (liveVm !== a.vmId) await actorMove(this.db, [a.uan], liveVm);
        continue;
      }
      byVm.set(a.vmId, [...(byVm.get(a.vmId) ?? []), spec]);
    }
    for (const [vmId, list] of byVm) await this.mediator.spawnActors(vmId, list);
    this.log({ event: "application started", application: app.id, actors: specs.size, adopted, vms: byVm.size });
  }

  /** The upgrade holding the application's VMs whose restart step has begun (it, or its rollback, restores every actor). */
  private async upgradeRestarting(applicationId: string): Promise<string | undefined> {
    const holders = new Set((await vmListByApplication(this.db, applicationId)).map((v) => v.lockedBy));
    for (const id of holders) {
      if (id === null) continue;
      if ((await operationGet(this.db, id))?.kind === "upgrade" && (await stepCount(this.db, id, "restart")) > 0) return id;
    }
    return undefined;
  }

  /**
   * Discards the application's actors wherever they are and spawns them again from their initial
   * state, on the VMs Postgres places them on (recovery without a checkpoint).
   */
  async respawn(applicationId: string): Promise<void> {
    const list = this.specsByApp.get(applicationId);
    if (!list) throw new Error(`application ${applicationId} was not started by this worker`);
    const specs = new Map(list.map((s) => [s.uan, s]));
    const rows = await actorListByApplication(this.db, applicationId);
    await this.mediator.discardActors(rows.map((a) => a.uan));
    const byVm = new Map<string, ActorSpec[]>();
    for (const a of rows) {
      const spec = specs.get(a.uan);
      if (spec) byVm.set(a.vmId, [...(byVm.get(a.vmId) ?? []), spec]);
    }
    for (const [vmId, group] of byVm) await this.mediator.spawnActors(vmId, group);
    this.log({ event: "application respawned from scratch", application: applicationId, actors: rows.length });
  }

  private publishProgress(): Promise<void> {
    return this.serialised(async () => {
      for (const [app, m] of this.iterations) {
        if (m.size === 0) continue;
        const slowest = Math.min(...m.values());
        if (this.published.get(app) === slowest) continue;
        await this.publishOne(app, slowest).catch((e: Error) =>
          this.log({ event: "progress not recorded", application: app, error: e.message }),
        );
      }
    });
  }

  private async publishOne(app: string, iteration: number): Promise<void> {
    await applicationSetIteration(this.db, app, iteration);
    // The throughput chart's samples (iterations over time).
    await applicationProgressAppend(this.db, app, iteration);
    await publishEvent(this.db, { type: "application", applicationId: app, iteration });
    // Only once written: a write lost to a database restart is tried again on the next tick,
    // even when the application has finished and its progress no longer changes.
    this.published.set(app, iteration);
  }

  /** Checks the stored configuration with the application's schema, starts its services, builds its actors. */
  private async buildActors(appId: string, kind: string, stored: unknown, bundleVersion: string | null): Promise<ActorSpec[]> {
    // A bundle's module runs in a child process: it has no services (refused when registered).
    if (bundleVersion) return bundleActorSpecs(this.db, { id: appId, kind, config: stored, bundleVersion });
    const module = this.applications.get(kind);
    let config = this.applications.parseConfig(kind, stored);
    if (module.services) {
      let started = this.services.get(appId);
      if (!started) {
        started = await module.services(config);
        this.services.set(appId, started);
        this.log({ event: "application services started", application: appId, kind });
      }
      config = started.config;
    }
    return module.actors(appId, config);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.unsubscribe?.();
    this.unsubscribeRestored?.();
    const services = [...this.services.values()];
    this.services.clear();
    await Promise.all(services.map((s) => s.close()));
  }
}
