import { randomUUID } from "node:crypto";
import { deserialize, serialize } from "node:v8";
import type { MigratedActor } from "@malleo/actors";
import { AppError } from "@malleo/core";
import {
  actorListByApplication,
  applicationGet,
  applicationList,
  applicationNextRestoreEpoch,
  auditAppend,
  checkpointData,
  checkpointList,
  checkpointWrite,
  sha256Hex,
  vmListByIds,
  type CheckpointMeta,
  type Db,
} from "@malleo/db";
import { installedApplications } from "@malleo/applications";
import { describeInFlight, inFlightPairs, type Mediator } from "@malleo/mediator";
import type { OperationCheckpoint } from "@malleo/workflows/worker";
import type { ActorControl } from "./actor-control";
import type { Logger } from "./log";

/** What a checkpoint's bytes hold (V8 serialization of this object). */
interface CheckpointContent {
  format: 1;
  applicationId: string;
  actors: MigratedActor[];
}

/** Each restore gives the application's sequence numbers a range of their own (see Theater.restore). */
export const RESTORE_SEQ_RANGE = 2 ** 32;

/** Each actor's progress in a cut, by UAN (actors whose behavior reports none are left out). */
export function progressByActor(actors: readonly MigratedActor[]): Map<string, number> {
  const progress = new Map<string, number>();
  for (const a of actors) {
    // The theater's figure (a bundle's behaviors run nowhere else); older checkpoints carry none.
    const p = a.progress ?? installedApplications.progressOf(a.behavior, a.state);
    if (p !== undefined) progress.set(a.uan, p);
  }
  return progress;
}

/** The application's progress at the cut: the least advanced actor's (0 when no behavior reports any). */
export function cutProgress(actors: readonly MigratedActor[]): number {
  const progress = [...progressByActor(actors).values()];
  return progress.length > 0 ? Math.min(...progress) : 0;
}

/** Told once an application's actors were replaced by a checkpoint's, before the restore returns. */
export type RestoredListener = (
  applicationId: string,
  restored: { iteration: number; progress: Map<string, number> },
) => Promise<void>;

export function encodeCheckpoint(applicationId: string, actors: MigratedActor[]): Uint8Array {
  return serialize({ format: 1, applicationId, actors } satisfies CheckpointContent);
}

/** The actors of a checkpoint; throws when the bytes do not match their checksum or are not a checkpoint. */
export function decodeCheckpoint(meta: Pick<CheckpointMeta, "sha256" | "sequence">, data: Uint8Array): MigratedActor[] {
  const sum = sha256Hex(data);
  if (sum !== meta.sha256) throw new Error(`checkpoint #${meta.sequence} is corrupt: sha256 ${sum}, recorded ${meta.sha256}`);
  const content = deserialize(data) as Partial<CheckpointContent>;
  if (content?.format !== 1 || !Array.isArray(content.actors))
    throw new Error(`checkpoint #${meta.sequence} has an unknown format`);
  return content.actors;
}

/** A cut was taken (its write to Postgres is `written`), or why none was (`otherOperation`: it holds a VM of the application). */
export type CheckpointOutcome =
  | { written: Promise<CheckpointMeta>; actors: number; iteration: number; heldMs: number }
  | { skipped: string; otherOperation?: string };

/** What the database said, without the client's multi-line call site (Prisma's "Message: `…`"). */
export function storageErrorText(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return /Message: `([^`]*)`/.exec(text)?.[1] ?? text.trim().split("\n").at(-1)!.trim();
}

/** How a cut is taken: by default the checkpoint holds every actor itself, with no operation on the VMs. */
export interface CutOptions {
  /** The operation taking it: the VMs it holds are not in the way. */
  operationId?: string;
  /** VMs whose actors are already held at their safe points (a barrier operation's Ready): copied and left held. */
  heldVms?: readonly string[];
  /**
   * Where the copy is made: at each theater, in memory, shipped after the resume (the default), or
   * shipped whole to the worker while the actors are held (how it was done before; the
   * checkpoint benchmark's same-run baseline).
   */
  copy?: "theater" | "worker";
}

/**
 * Checkpoints of each application at a consistent cut of its actors' safe points, into
 * Postgres, periodically and at a graceful stop; and restores from them.
 */
export class Checkpointer {
  private timer: NodeJS.Timeout | undefined;
  private readonly lastTaken = new Map<string, number>();
  private readonly writes = new Set<Promise<unknown>>();
  private readonly restoredListeners = new Set<RestoredListener>();
  private busy = false;
  private faultInjected = false;
  private faultCuts = 0;

  constructor(
    private readonly db: Db,
    private readonly mediator: Mediator,
    private readonly control: ActorControl,
    private readonly opts: {
      /** Interval of applications without their own; 0: none. */
      defaultIntervalMs: number;
      readyTimeoutMs: number;
      log: Logger;
      /** The chaos suite only: `checkpoint:<held|write>:<n>` kills the n-th VM's theater there, once. */
      killTheaterAt?: string;
      killTheater?: (vmId: string) => void;
    },
  ) {}

  start(): void {
    const now = Date.now();
    this.timer = setInterval(() => void this.tick(), 1_000);
    this.timer.unref();
    void applicationList(this.db).then((apps) => {
      for (const app of apps) if (!this.lastTaken.has(app.id)) this.lastTaken.set(app.id, now);
    });
  }

  private async tick(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      for (const app of await applicationList(this.db)) {
        const interval = app.checkpointIntervalMs ?? this.opts.defaultIntervalMs;
        if (interval <= 0) continue;
        const last = this.lastTaken.get(app.id);
        if (last === undefined) {
          this.lastTaken.set(app.id, Date.now());
          continue;
        }
        if (Date.now() - last < interval) continue;
        this.lastTaken.set(app.id, Date.now());
        await this.take(app.id, "periodic");
      }
    } catch (e) {
      this.opts.log({ event: "checkpoint pass failed", error: (e as Error).message });
    } finally {
      this.busy = false;
    }
  }

  /**
   * Holds every actor of the application at its safe point (`awaitReady` on each of its VMs),
   * copies them once no message is in flight between them, resumes them, and returns; the
   * write to Postgres goes on in the background (`written`; `flush` waits for every write).
   */
  async take(applicationId: string, reason: string, cut: CutOptions = {}): Promise<CheckpointOutcome> {
    const skip = (why: string, otherOperation?: string): CheckpointOutcome => {
      this.opts.log({ event: "checkpoint skipped", application: applicationId, reason: why, operationId: cut.operationId });
      return otherOperation ? { skipped: why, otherOperation } : { skipped: why };
    };
    const app = await applicationGet(this.db, applicationId);
    if (!app) return skip("no such application");
    if (app.status !== "running") return skip(`the application is ${app.status}`);
    const uans = (await actorListByApplication(this.db, applicationId)).map((a) => a.uan);
    if (uans.length === 0) return skip("no actors");
    const located = new Map(this.mediator.listActors().map((a) => [a.uan, a.vmId]));
    const byVm = new Map<string, string[]>();
    for (const uan of uans) {
      const vmId = located.get(uan);
      if (!vmId || !this.mediator.theater(vmId)) return skip(`actor ${uan} is not running`);
      byVm.set(vmId, [...(byVm.get(vmId) ?? []), uan]);
    }
    const held = new Set(cut.heldVms);
    const toHold = [...byVm].filter(([vmId]) => !held.has(vmId));
    const startedAt = performance.now();
    const token = randomUUID();
    // Where the pause goes: holding at safe points, waiting for messages in flight, the local copy, the resume.
    const phases = { readyMs: 0, arrivedMs: 0, copyMs: 0, resumeMs: 0 };
    const mark = (phase: keyof typeof phases, since: number) => (phases[phase] = Math.round(performance.now() - since));
    const cutOutcome = await this.control.withVms(
      byVm.keys(),
      async (): Promise<{ kept: true } | { shipped: MigratedActor[] } | string | { other: string; why: string }> => {
        // Checked under the lock: an operation accepted meanwhile owns these actors' holds.
        // (An operation's own checkpoint is taken on the VMs it holds.)
        const vms = await vmListByIds(this.db, [...byVm.keys()]);
        const busy = vms.find((v) => (v.lockedBy !== null && v.lockedBy !== cut.operationId) || v.state !== "running");
        if (busy)
          return busy.lockedBy
            ? { other: busy.lockedBy, why: `operation ${busy.lockedBy} holds VM ${busy.name}` }
            : `VM ${busy.name} is ${busy.state}`;
        let since = performance.now();
        try {
          const ready = await Promise.all(
            [...toHold].map(([vmId, list]) => this.mediator.awaitReady(vmId, list, this.opts.readyTimeoutMs)),
          );
          mark("readyMs", since);
          since = performance.now();
          const notReady = ready.flatMap((r) => r.notReady);
          if (notReady.length > 0)
            return `${notReady.length} actors did not reach a safe point (${notReady.slice(0, 3).join(", ")})`;
          this.injectFault("held", [...byVm.keys()]);
          // Held actors send nothing; what is still on its way lands in a mailbox. Once all has
          // arrived (the counters say), each theater copies its actors locally and they run again:
          // the copies travel after the resume, outside the pause.
          const deadline = Date.now() + this.opts.readyTimeoutMs;
          let arrived = false;
          for (;;) {
            const keep = arrived ? token : undefined;
            const cuts = await Promise.all([...byVm].map(([vmId, list]) => this.mediator.cutActors(vmId, list, keep)));
            const missing = cuts.flatMap((c) => c.missing);
            if (missing.length > 0) return `actors moved during the checkpoint (${missing.slice(0, 3).join(", ")})`;
            const pairs = inFlightPairs(cuts.flatMap((c) => c.counters));
            arrived = pairs.length === 0;
            if (arrived && cut.copy === "worker") {
              const snaps = await Promise.all([...byVm].map(([vmId, list]) => this.mediator.snapshotActors(vmId, list)));
              mark("copyMs", since);
              return { shipped: snaps.flatMap((snap) => snap.actors) };
            }
            if (arrived && keep !== undefined) {
              mark("copyMs", since);
              return { kept: true };
            }
            if (arrived) {
              mark("arrivedMs", since);
              since = performance.now();
              continue; // copy now: held actors receive nothing new
            }
            if (Date.now() > deadline) {
              const inFlight = pairs.reduce((sum, p) => sum + p.count, 0);
              return `${inFlight} messages still in flight after ${this.opts.readyTimeoutMs} ms: ${describeInFlight(pairs)}`;
            }
            await new Promise((r) => setTimeout(r, 10));
          }
        } finally {
          since = performance.now();
          // What the operation's barrier held stays held: its Resume (or rollback) lets it go.
          await Promise.all([...toHold].map(([vmId, list]) => this.mediator.resume(vmId, list))).catch((e: Error) =>
            this.opts.log({ event: "checkpoint resume failed", application: applicationId, error: e.message }),
          );
          mark("resumeMs", since);
        }
      },
    );
    if (typeof cutOutcome === "string") return skip(cutOutcome);
    if ("other" in cutOutcome) return skip(cutOutcome.why, cutOutcome.other);
    const heldMs = Math.round(performance.now() - startedAt);
    let copied: MigratedActor[];
    try {
      copied =
        "shipped" in cutOutcome
          ? cutOutcome.shipped
          : (await Promise.all([...byVm].map(([vmId, list]) => this.mediator.fetchKept(vmId, token, list)))).flat();
    } catch (e) {
      return skip(`the copies taken at the cut did not arrive: ${(e as Error).message}`);
    }
    const iteration = cutProgress(copied);
    this.injectFault("write", [...byVm.keys()]);
    const written = (async () => {
      const data = encodeCheckpoint(applicationId, copied);
      const meta = await checkpointWrite(this.db, {
        applicationId,
        iteration,
        actors: copied.length,
        data,
        reason,
      });
      this.opts.log({
        event: "checkpoint taken",
        application: applicationId,
        sequence: meta.sequence,
        iteration: meta.iteration,
        actors: meta.actors,
        bytes: meta.bytes,
        reason,
        heldMs,
        ...phases,
      });
      return meta;
    })();
    this.writes.add(written);
    written
      .catch((e: Error) => this.opts.log({ event: "checkpoint not written", application: applicationId, error: e.message }))
      .finally(() => this.writes.delete(written));
    return { written, actors: copied.length, iteration, heldMs };
  }

  /**
   * The checkpoint an operation takes before its Transfer, written before it returns. No
   * checkpoint is needed when the application's checkpoints are off, or it has no actors; none
   * can be taken while another operation holds one of its VMs (that one's hold and moves own
   * its actors), which is recorded, not a failure. Anything else throws CHECKPOINT_FAILED.
   */
  async takeForOperation(
    applicationId: string,
    o: { operationId: string; kind: string; heldVms: readonly string[]; required?: boolean },
  ): Promise<OperationCheckpoint> {
    const app = await applicationGet(this.db, applicationId);
    const interval = app?.checkpointIntervalMs ?? this.opts.defaultIntervalMs;
    if (app && interval <= 0 && !o.required) return { skipped: "checkpoints are off for this application" };
    const outcome = await this.take(applicationId, `before ${o.kind}`, { operationId: o.operationId, heldVms: o.heldVms });
    if ("skipped" in outcome) {
      if (!o.required && (outcome.skipped === "no actors" || outcome.otherOperation)) return { skipped: outcome.skipped };
      throw new AppError("CHECKPOINT_FAILED", `no checkpoint before the ${o.kind}: ${outcome.skipped}`, { applicationId });
    }
    let meta: CheckpointMeta;
    try {
      meta = await outcome.written;
    } catch (e) {
      throw new AppError("CHECKPOINT_FAILED", `checkpoint before the ${o.kind} not written: ${storageErrorText(e)}`, {
        applicationId,
      });
    }
    this.lastTaken.set(applicationId, Date.now());
    return {
      sequence: meta.sequence,
      takenAt: meta.takenAt.toISOString(),
      iteration: meta.iteration,
      actors: meta.actors,
      bytes: meta.bytes,
      sha256: meta.sha256,
      cut: o.heldVms.length > 0 ? "barrier" : "own",
      heldMs: outcome.heldMs,
    };
  }

  /** At the second cut (the first leaves a checkpoint to come back to). */
  private injectFault(point: "held" | "write", vmIds: string[]): void {
    const m = /^checkpoint:(held|write):(\d+)$/.exec(this.opts.killTheaterAt ?? "");
    if (this.faultInjected || !m || m[1] !== point || vmIds.length === 0) return;
    if (++this.faultCuts < 2) return;
    this.faultInjected = true;
    this.opts.killTheater?.([...vmIds].sort()[Number(m[2]) % vmIds.length]!);
  }

  /** Waits for checkpoint writes in flight. */
  async flush(): Promise<void> {
    await Promise.allSettled([...this.writes]);
  }

  /** The newest checkpoint whose bytes match their checksum (a corrupt one falls back to the previous). */
  async latestValid(
    applicationId: string,
  ): Promise<{ meta: CheckpointMeta; actors: MigratedActor[]; unusable: { sequence: number; error: string }[] } | null> {
    const unusable: { sequence: number; error: string }[] = [];
    for (const meta of await checkpointList(this.db, applicationId)) {
      const data = await checkpointData(this.db, meta.id);
      if (!data) continue;
      try {
        return { meta, actors: decodeCheckpoint(meta, data), unusable };
      } catch (e) {
        unusable.push({ sequence: meta.sequence, error: (e as Error).message });
        this.opts.log({
          event: "checkpoint unusable, trying the previous one",
          application: applicationId,
          error: (e as Error).message,
        });
      }
    }
    return null;
  }

  /** One checkpoint by its sequence number; throws when it is gone or corrupt (an operator chose it). */
  private async bySequence(applicationId: string, sequence: number) {
    const meta = (await checkpointList(this.db, applicationId)).find((m) => m.sequence === sequence);
    const data = meta && (await checkpointData(this.db, meta.id));
    if (!meta || !data) throw new Error(`checkpoint #${sequence} of ${applicationId} no longer exists (the last 3 are kept)`);
    return { meta, actors: decodeCheckpoint(meta, data), unusable: [] };
  }

  /**
   * Replaces every actor of the application with its copy in the newest valid checkpoint, on
   * the VMs Postgres places them on (each needs a registered theater): all of them, since a
   * consistent cut is all or nothing. Returns the checkpoint used, or null when there is none.
   * `migrate` rewrites the checkpoint's actors before they are restored (an upgrade's migrateState).
   */
  async restore(
    applicationId: string,
    sequence?: number,
    migrate?: (actors: MigratedActor[]) => Promise<MigratedActor[]>,
  ): Promise<CheckpointMeta | null> {
    const cp = sequence === undefined ? await this.latestValid(applicationId) : await this.bySequence(applicationId, sequence);
    if (!cp) return null;
    if (migrate) cp.actors = await migrate(cp.actors);
    const placement = new Map((await actorListByApplication(this.db, applicationId)).map((a) => [a.uan, a.vmId]));
    const byVm = new Map<string, MigratedActor[]>();
    for (const actor of cp.actors) {
      const vmId = placement.get(actor.uan);
      if (!vmId) throw new Error(`checkpoint #${cp.meta.sequence} holds ${actor.uan}, which the application no longer has`);
      if (!this.mediator.theater(vmId)) throw new Error(`VM ${vmId} has no registered theater to restore ${actor.uan} on`);
      byVm.set(vmId, [...(byVm.get(vmId) ?? []), actor]);
    }
    const seqBase = (await applicationNextRestoreEpoch(this.db, applicationId)) * RESTORE_SEQ_RANGE;
    await this.control.withVms(byVm.keys(), async () => {
      await this.mediator.discardActors([...placement.keys()]);
      for (const [vmId, actors] of byVm) await this.mediator.restoreActors(vmId, actors, seqBase);
    });
    // The progress shown (and waited on) is the checkpoint's now, before anyone is told the application runs.
    for (const listener of this.restoredListeners)
      await listener(applicationId, { iteration: cp.meta.iteration, progress: progressByActor(cp.actors) });
    await auditAppend(this.db, {
      actor: "worker",
      procedure: "checkpoint.restored",
      input: {
        applicationId,
        sequence: cp.meta.sequence,
        iteration: cp.meta.iteration,
        takenAt: cp.meta.takenAt.toISOString(),
        actors: cp.actors.length,
        unusable: cp.unusable,
      },
      ok: true,
    });
    this.opts.log({
      event: "application restored from checkpoint",
      application: applicationId,
      sequence: cp.meta.sequence,
      iteration: cp.meta.iteration,
      actors: cp.actors.length,
    });
    return cp.meta;
  }

  /** `listener` runs inside every restore, after the actors are replaced; returns the unsubscribe. */
  onRestored(listener: RestoredListener): () => void {
    this.restoredListeners.add(listener);
    return () => this.restoredListeners.delete(listener);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
