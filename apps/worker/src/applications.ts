import {
  actorListByApplication,
  actorMove,
  applicationList,
  applicationProgressAppend,
  applicationSetIteration,
  publishEvent,
  type Db,
} from "@malleo/db";
import { applicationActorSpecs, startCrawlerSite, type CrawlerSite, type CrawlerSiteConfig } from "@malleo/examples";
import type { ActorSpec, Mediator } from "@malleo/mediator";
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
  private readonly sites: CrawlerSite[] = [];

  constructor(
    private readonly db: Db,
    private readonly mediator: Mediator,
    private readonly log: Logger,
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
  }

  async start(): Promise<void> {
    this.watchProgress();
    for (const app of await applicationList(this.db)) {
      let config = app.config as Record<string, unknown>;
      if (app.kind === "crawler") {
        // The crawler's site is generated and served here, on loopback (fixed port if configured).
        const site = await startCrawlerSite(config as unknown as CrawlerSiteConfig, Number(config.sitePort ?? 0));
        this.sites.push(site);
        config = { ...config, site: site.url };
        this.log({ event: "crawler site serving", application: app.id, url: site.url });
      }
      let list: ActorSpec[];
      try {
        list = applicationActorSpecs(app.kind, app.id, config);
      } catch (e) {
        this.log({ event: "application not started", application: app.id, kind: app.kind, error: (e as Error).message });
        continue;
      }
      const specs = new Map(list.map((s) => [s.uan, s]));
      // Actors in theaters that survived a worker crash are alive and authoritative: keep them,
      // and correct Postgres where a crash fell between a migration and its recording.
      const alive = new Map(this.mediator.listActors().map((a) => [a.uan, a.vmId]));
      const byVm = new Map<string, ActorSpec[]>();
      let adopted = 0;
      for (const a of await actorListByApplication(this.db, app.id)) {
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
    this.timer = setInterval(() => void this.publishProgress(), 500);
  }

  private async publishProgress(): Promise<void> {
    for (const [app, m] of this.iterations) {
      if (m.size === 0) continue;
      const slowest = Math.min(...m.values());
      if (this.published.get(app) === slowest) continue;
      this.published.set(app, slowest);
      try {
        await applicationSetIteration(this.db, app, slowest);
        // The throughput chart's samples (iterations over time).
        await applicationProgressAppend(this.db, app, slowest);
        await publishEvent(this.db, { type: "application", applicationId: app, iteration: slowest });
      } catch (e) {
        this.log({ event: "progress not recorded", application: app, error: (e as Error).message });
      }
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.unsubscribe?.();
    await Promise.all(this.sites.splice(0).map((s) => s.close()));
  }
}
