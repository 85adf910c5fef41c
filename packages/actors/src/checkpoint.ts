import { serialize } from "node:v8";
import { spawnReply, type ActorCell } from "./actor-cells";
import { fastCopy } from "./copy";
import { migratedActorOf } from "./migration";
import { countersOf } from "./counters";
import type { CutReply, MigratedActor, RestoreRequest, SnapshotFetchReply, SnapshotReply, SpawnReply } from "./protocol";
import type { TheaterRuntime } from "./theater-runtime";

/**
 * Checkpoints on the theater's side: a copy of actors as a migration would ship them
 * (snapshot), actors installed from such a copy (restore), and an application's actors dropped
 * before it is restored (discard).
 */
export class Checkpoints {
  /** The copy the last `cut` with `keep` took, until fetched (one at a time: a new one replaces it). */
  private kept: { token: string; actors: MigratedActor[] } | null = null;

  constructor(private readonly rt: TheaterRuntime) {}

  /**
   * The actors' delivery counters, and with `keep` a copy of them taken now (in memory, at once:
   * after this turn they may run and change) that `fetchKept` serializes and sends later.
   */
  cut(uans: string[], keep?: string): CutReply {
    const { here, missing } = this.present(uans);
    // A memory copy now (typed arrays sliced, not serialized): the actors may run again at once.
    if (keep !== undefined) this.kept = { token: keep, actors: fastCopy(here.map((cell) => this.copyOf(cell))) };
    // The reply is serialized as it is sent, before anything here runs again: no copy needed.
    return {
      counters: here.map(countersOf),
      missing,
      held: here.filter((cell) => cell.held).map((cell) => cell.uan),
      kept: keep !== undefined,
    };
  }

  /** Sends the copy kept under `token` and forgets it. */
  fetchKept(token: string): SnapshotFetchReply {
    const kept = this.kept;
    if (!kept || kept.token !== token) throw new Error(`no snapshot kept under ${JSON.stringify(token.slice(0, 100))}`);
    this.kept = null;
    return { data: serialize(kept.actors) };
  }

  /**
   * Each actor as a migration would ship it (state, mailbox with pending self-messages, delivery
   * order state), without moving or changing it: a checkpoint of actors held at their safe point.
   */
  snapshot(uans: string[]): SnapshotReply {
    const { here, missing } = this.present(uans);
    // The reply is serialized as it is sent, before anything here runs again: a copy.
    return { actors: here.map((cell) => this.copyOf(cell)), missing, held: here.filter((cell) => cell.held).map((c) => c.uan) };
  }

  /** The actors asked for that live here and are not being shipped in or out; the others are missing. */
  private present(uans: string[]): { here: ActorCell[]; missing: string[] } {
    const here: ActorCell[] = [];
    const missing: string[] = [];
    for (const uan of uans) {
      const cell = this.rt.cells.byUan.get(uan);
      if (!cell || cell.incoming || cell.outgoing) missing.push(uan);
      else here.push(cell);
    }
    return { here, missing };
  }

  /**
   * The actor as a migration would ship it: state, mailbox with pending self-messages, delivery
   * order state; and its progress, computed here where its behavior is (a bundle's is nowhere else).
   */
  private copyOf(cell: ActorCell): MigratedActor {
    const copy = migratedActorOf(cell, [...cell.mailbox, ...this.rt.cells.pendingSelfMessages(cell)]);
    const progress = cell.behavior.progress?.(cell.state);
    return progress === undefined ? copy : { ...copy, progress };
  }

  /**
   * Installs actors from a checkpoint and lets them run. Their sequence numbers are rebased onto
   * `seqBase` (the same for every actor of the application), so a message an earlier incarnation
   * sent that is still on its way arrives as an old number and is dropped as a duplicate.
   */
  restore(request: RestoreRequest): SpawnReply {
    const rt = this.rt;
    if (rt.stopping) throw new Error("theater is stopping");
    for (const actor of request.actors) {
      if (!rt.options.behaviors[actor.behavior]) throw new Error(`unknown behavior "${actor.behavior}" for ${actor.uan}`);
      if (rt.cells.byUan.has(actor.uan)) throw new Error(`${actor.uan} already lives here`);
    }
    const rebase = (n: number, from: number) => request.seqBase + (n - from);
    const created: ActorCell[] = [];
    for (const actor of request.actors) {
      const from = actor.seqBase ?? 0;
      const cell = rt.cells.createCell(actor.uan, actor.behavior, actor.state);
      cell.mailbox = actor.mailbox;
      cell.sendSeq = new Map([...actor.sendSeq].map(([to, n]) => [to, rebase(n, from)]));
      cell.recvNext = new Map([...actor.recvNext].map(([peer, n]) => [peer, rebase(n, from)]));
      cell.reorder = new Map(
        [...actor.reorder].map(([peer, waiting]) => [peer, new Map([...waiting].map(([n, m]) => [rebase(n, from), m]))]),
      );
      cell.seqBase = request.seqBase;
      cell.profile = actor.profile;
      created.push(cell);
    }
    rt.cells.installRunning(created);
    rt.routing.retryParked(created.map((cell) => cell.uan));
    rt.log("info", "actors restored", { count: created.length, seqBase: request.seqBase });
    return spawnReply(created);
  }

  /** Drops actors (an application about to be restored from a checkpoint) and what waits for them here. */
  discard(uans: string[]): { discarded: number } {
    const rt = this.rt;
    let discarded = 0;
    for (const uan of uans) {
      const cell = rt.cells.byUan.get(uan);
      rt.routing.drop(uan);
      if (!cell) continue;
      for (const timer of cell.timers.values()) clearTimeout(timer.timeout);
      cell.timers.clear();
      rt.mailboxes.relieve(cell);
      rt.cells.byUan.delete(uan);
      rt.mailboxes.unschedule(cell);
      rt.mediator.forgetProgress(uan);
      discarded++;
    }
    rt.log("info", "actors discarded", { count: discarded });
    return { discarded };
  }
}
