import { communicationRates, type ActorMessageCounts, type CommunicationReading, type CommunicationSample } from "@malleo/core";
import {
  actorListByApplication,
  applicationList,
  communicationInsert,
  communicationPrune,
  vmListLive,
  type Db,
} from "@malleo/db";
import type { Logger } from "./log";
import { Periodic } from "./periodic";

/** Applications whose actors run: a stopped or deleted one sends nothing and is not asked. */
const SAMPLED_STATUSES = new Set(["running", "degraded"]);

/**
 * Samples every running application's actor communication at a fixed interval into
 * `application_communication`: the theaters' message counters (the Mediator's `messageCounts`,
 * no state sizes) turned into rates since the previous reading (`communicationRates` in core,
 * which leaves out actors whose counters went back). Keeps `retentionMs` of samples.
 */
export class CommunicationSampler {
  private readings = new Map<string, CommunicationReading>();
  private lastPruneMs = 0;
  private readonly loop: Periodic;

  constructor(
    private readonly db: Db,
    private readonly counts: (vmIds: string[]) => Promise<ActorMessageCounts[]>,
    private readonly opts: { intervalMs: number; retentionMs?: number; log: Logger },
  ) {
    this.loop = new Periodic(() => this.sampleOnce(), {
      intervalMs: opts.intervalMs,
      log: opts.log,
      failure: "communication sampling failed",
    });
  }

  /** Reads every sampled application's counters once and stores a sample for each that had a previous reading. */
  async sampleOnce(): Promise<Map<string, CommunicationSample>> {
    const [apps, live] = await Promise.all([applicationList(this.db), vmListLive(this.db)]);
    const stored = new Map<string, CommunicationSample>();
    const sampled = new Set<string>();
    for (const app of apps) {
      const vmIds = live.filter((vm) => vm.applicationId === app.id).map((vm) => vm.id);
      if (!SAMPLED_STATUSES.has(app.status) || vmIds.length === 0) continue;
      sampled.add(app.id);
      const ordinals = new Map((await actorListByApplication(this.db, app.id)).map((a) => [a.uan, a.ordinal]));
      const actors = await this.counts(vmIds);
      const atMs = Date.now();
      const { sample, reading } = communicationRates(this.readings.get(app.id), { atMs, actors }, ordinals);
      this.readings.set(app.id, reading);
      if (!sample) continue;
      await communicationInsert(this.db, app.id, new Date(atMs), sample);
      stored.set(app.id, sample);
    }
    for (const id of this.readings.keys()) if (!sampled.has(id)) this.readings.delete(id);
    if (Date.now() - this.lastPruneMs > 60_000) {
      this.lastPruneMs = Date.now();
      await communicationPrune(this.db, new Date(Date.now() - (this.opts.retentionMs ?? 3_600_000)));
    }
    return stored;
  }

  start(): void {
    this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }
}
