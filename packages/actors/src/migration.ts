import type { ActorCell } from "./actor-cells";
import { RemoteError, type Channel } from "./channel";
import type { ChunkedBytes } from "./framing";
import { decodeMigrationBatch, encodeMigratedActor, encodeMigrationBatch, type EncodedActor } from "./migration-codec";
import type {
  HostedActor,
  MigratedActor,
  MigrateCommitRequest,
  MigrateFinishRequest,
  MigrateInRequest,
  MigrateOutReply,
  MigrateOutRequest,
  MigrateSettleReply,
  MigrateSettleRequest,
} from "./protocol";
import type { TheaterRuntime } from "./theater-runtime";

const HOLD_FOR_MIGRATION_TIMEOUT_MS = 10_000;
/** A migration streams its actors in pipelined batches of about this many bytes. */
const MIGRATION_BATCH_BYTES = 4 * 1024 * 1024;

/**
 * What moves an actor from one theater to another, both sides. The source holds the actors,
 * streams them in batches and lets go only after the target acknowledged and the commit went
 * through; the target installs them held and invisible until the commit. A commit whose answer
 * was lost leaves the transfer in doubt until the Mediator settles it (`migrate-settle`, `-finish`).
 */
export class Migration {
  /** Batches of the current transfer received per source connection. */
  private readonly incomingBatches = new Map<Channel, number>();
  private nextTransferId = 1;

  constructor(private readonly rt: TheaterRuntime) {}

  /**
   * Source side. Holds the actors, streams state, mailbox and delivery-order state in pipelined
   * batches, and only after the target acknowledged the whole transfer and the commit deletes
   * them here and leaves forwarding pointers. On a failure before the commit the actors stay
   * here, held, with every message that arrived meanwhile. When the commit's answer is lost the
   * outcome is in doubt: the actors wait (not running, arrivals buffered) for `migrate-finish`.
   */
  async migrateOut(request: MigrateOutRequest): Promise<MigrateOutReply> {
    const rt = this.rt;
    if (rt.stopping) throw new Error("theater is stopping");
    if (request.targetAddress === rt.advertisedAddress) throw new Error("cannot migrate to the same theater");
    const cells = request.uans.map((uan) => {
      const cell = rt.cells.byUan.get(uan);
      if (!cell || cell.incoming) throw new Error(`${uan} does not live on ${rt.vmId}`);
      if (cell.outgoing) throw new Error(`${uan} is already migrating`);
      return cell;
    });
    // The link to the target is made before anything is held, so no actor waits on a connect
    // and a target that cannot be reached holds nobody.
    const link = rt.routing.linkTo(request.targetAddress);
    await link.connected;
    for (const cell of cells) {
      if (rt.cells.byUan.get(cell.uan) !== cell || cell.outgoing)
        throw new Error(`${cell.uan} moved while connecting to the target`);
    }
    for (const cell of cells) {
      cell.holdRequested = true;
      if (!rt.cells.tryHold(cell)) rt.mailboxes.markRunnable(cell);
    }
    await rt.cells.waitUntilHeld(cells, HOLD_FOR_MIGRATION_TIMEOUT_MS);
    if (rt.crashed) return new Promise(() => {});

    const records: MigratedActor[] = [];
    for (const cell of cells) {
      // Pending self-messages travel in the mailbox; the target delivers them on resume.
      for (const timer of cell.timers.values()) {
        clearTimeout(timer.timeout);
        cell.mailbox.push({ kind: "message", from: cell.uan, body: timer.body });
      }
      cell.timers.clear();
      cell.outgoing = { arrivals: [], target: request.targetAddress };
      records.push(migratedActorOf(cell, cell.mailbox));
    }
    let batches = 0;
    let bytes = 0;
    const actors: HostedActor[] = [];
    const uans = cells.map((cell) => cell.uan);
    const transfer = this.nextTransferId++;
    const startedAt = performance.now();
    let phase: "connecting" | "transferring" | "committing" = "connecting";
    try {
      const channel = await link.connected;
      phase = "transferring";
      // Pipelined: each batch is written as soon as it is encoded (the target decodes it while
      // the next one is encoded); the replies come back in order. A record's typed arrays are
      // written from the actor's own memory: it stays held until the transfer has ended.
      const replies: Array<Promise<unknown>> = [];
      const batchLimit = rt.options.migrationBatchBytes ?? MIGRATION_BATCH_BYTES;
      let batch: EncodedActor[] = [];
      let batchBytes = 0;
      const send = (last: boolean) => {
        const index = batches++;
        const body: MigrateInRequest = { type: "migrate-in", transfer, last };
        const reply = channel.request(body, request.timeoutMs, encodeMigrationBatch(batch));
        reply.catch(() => {}); // judged below, once all are sent; until then not an unhandled rejection
        replies.push(reply);
        rt.options.faults?.afterMigrationBatchSent?.(index, () => link.destroy("fault injected: link dropped"));
        batch = [];
        batchBytes = 0;
      };
      for (const record of records) {
        const encoded = encodeMigratedActor(record);
        if (batchBytes > 0 && batchBytes + encoded.byteLength > batchLimit) send(false);
        batch.push(encoded);
        batchBytes += encoded.byteLength;
        bytes += encoded.byteLength;
        actors.push({ uan: record.uan, behavior: record.behavior, stateBytes: encoded.byteLength });
      }
      send(true);
      const settled = await Promise.allSettled(replies);
      const failure = settled.find((result) => result.status === "rejected");
      if (failure) throw failure.reason;
      rt.options.faults?.afterMigrationAcknowledged?.();
      if (rt.crashed) return new Promise(() => {});
      phase = "committing";
      await channel.request(
        { type: "migrate-commit", uans, resume: request.resumeOnArrival === true } satisfies MigrateCommitRequest,
        request.timeoutMs,
      );
    } catch (error) {
      if (rt.crashed) return new Promise(() => {});
      if (phase === "committing") {
        rt.log("warn", "migration commit unanswered; outcome in doubt until the mediator settles it", {
          target: request.targetAddress,
          actors: uans.length,
          error: (error as Error).message,
        });
        return { moved: 0, bytes, actors, inDoubt: true };
      }
      // Cutting the link is how a live target learns to discard what it installed; one that
      // refused the transfer installed nothing, and a dead one has nothing left to discard.
      if (phase === "transferring") {
        const channel = await link.connected.catch(() => null);
        if (error instanceof RemoteError && channel?.isOpen)
          await channel.request({ type: "migrate-abort" }, request.timeoutMs).catch(() => link.destroy("abort failed"));
        else link.destroy(`migration failed while ${phase}`);
      }
      for (const cell of cells) this.restoreOutgoing(cell);
      // A live transfer never leaves an actor held: it failed to move, so it runs on here.
      if (request.resumeOnArrival) rt.cells.resume(uans);
      rt.log(
        "warn",
        request.resumeOnArrival ? "migration failed; actors stay here and run on" : "migration failed; actors stay here, held",
        {
          target: request.targetAddress,
          actors: uans.length,
          error: (error as Error).message,
        },
      );
      throw new Error(`migration to ${request.targetAddress} failed: ${(error as Error).message}`);
    }
    const committedAt = performance.now();
    const holdMs = cells.map((cell) => Math.max(0, committedAt - (cell.heldAt ?? committedAt)));
    for (const cell of cells) this.releaseOutgoing(cell);
    rt.log("info", "actors migrated out", {
      target: request.targetAddress,
      actors: cells.length,
      bytes,
      batches,
      ms: Math.round(performance.now() - startedAt),
    });
    return { moved: cells.length, bytes, actors, holdMs };
  }

  /** The migration did not happen: the actor stays here, held, and takes the messages that waited. */
  private restoreOutgoing(cell: ActorCell): void {
    this.rt.mailboxes.relieve(cell);
    const arrivals = cell.outgoing?.arrivals ?? [];
    cell.outgoing = null;
    for (const message of arrivals) this.rt.mailboxes.accept(cell, message);
  }

  /** The target owns the actor now: leave a forwarding pointer and pass on what arrived meanwhile. */
  private releaseOutgoing(cell: ActorCell): void {
    const rt = this.rt;
    rt.mailboxes.relieve(cell);
    const target = cell.outgoing!.target;
    rt.cells.byUan.delete(cell.uan);
    rt.mailboxes.unschedule(cell);
    rt.mediator.forgetProgress(cell.uan);
    rt.routing.pointTo(cell.uan, target);
    // Same link as the state (when it still stands), so these arrive after the actor is installed;
    // if they do not, their sequence numbers put them back in order there.
    for (const message of cell.outgoing!.arrivals) {
      rt.counters.forwarded++;
      rt.routing.sendToTheater(target, { ...message, hops: message.hops + 1 });
    }
    cell.outgoing = null;
    rt.counters.migratedOut++;
  }

  /** Source side, after an in-doubt commit: the Mediator asked the target which ones it committed. */
  finishInDoubt(request: MigrateFinishRequest): void {
    const committed = new Set(request.committed);
    let released = 0;
    for (const uan of request.uans) {
      const cell = this.rt.cells.byUan.get(uan);
      if (!cell?.outgoing) continue;
      if (committed.has(uan)) {
        this.releaseOutgoing(cell);
        released++;
      } else this.restoreOutgoing(cell);
    }
    this.rt.log("info", "in-doubt migration settled", { released, kept: request.uans.length - released });
  }

  /** Target side, phase one, batch by batch: install held and uncommitted; the last reply acknowledges. */
  migrateIn(
    request: MigrateInRequest,
    channel: Channel,
    payload: ChunkedBytes | undefined,
  ): Record<string, never> | Promise<Record<string, never>> {
    const rt = this.rt;
    if (rt.stopping) throw new Error("theater is stopping");
    if (!payload) throw new Error("migrate-in without its batch");
    const migrated = decodeMigrationBatch(payload);
    // The first actors of a bundle application here: its behaviors are fetched, then the batch installed.
    const loading = rt.bundles.ensure(migrated);
    if (loading) return loading.then(() => this.installIncoming(request, channel, migrated));
    return this.installIncoming(request, channel, migrated);
  }

  private installIncoming(request: MigrateInRequest, channel: Channel, migrated: MigratedActor[]): Record<string, never> {
    const rt = this.rt;
    if (rt.stopping) throw new Error("theater is stopping");
    for (const actor of migrated) {
      if (!rt.options.behaviors[actor.behavior]) throw new Error(`unknown behavior "${actor.behavior}" for ${actor.uan}`);
      const existing = rt.cells.byUan.get(actor.uan);
      // An in-doubt copy from an earlier, failed attempt is stale once the source sends the actor again.
      if (existing && !(existing.incoming && existing.incoming.channel !== channel))
        throw new Error(`${actor.uan} already lives on ${rt.vmId}`);
    }
    for (const actor of migrated) {
      const cell = rt.cells.createCell(actor.uan, actor.behavior, actor.state);
      cell.mailbox = actor.mailbox;
      cell.sendSeq = actor.sendSeq;
      cell.recvNext = actor.recvNext;
      cell.reorder = actor.reorder;
      cell.seqBase = actor.seqBase ?? 0;
      cell.profile = actor.profile;
      cell.holdRequested = true;
      cell.held = true;
      cell.incoming = { channel, transfer: request.transfer, acknowledged: false };
      rt.cells.byUan.set(cell.uan, cell);
    }
    const batchIndex = this.incomingBatches.get(channel) ?? 0;
    this.incomingBatches.set(channel, request.last ? 0 : batchIndex + 1);
    rt.options.faults?.afterMigrationBatchReceived?.(batchIndex);
    if (request.last) {
      rt.options.faults?.beforeMigrationAck?.();
      for (const cell of rt.cells.byUan.values())
        if (cell.incoming?.channel === channel && cell.incoming.transfer === request.transfer) cell.incoming.acknowledged = true;
    }
    return {};
  }

  /** Target side, phase two: the source has let go; the actors are ours (still held until resumed). */
  commitMigrateIn(request: MigrateCommitRequest, channel: Channel): Record<string, never> {
    const { uans } = request;
    for (const uan of uans) {
      const cell = this.rt.cells.byUan.get(uan);
      if (!cell?.incoming || cell.incoming.channel !== channel || !cell.incoming.acknowledged)
        throw new Error(`no acknowledged migration of ${uan} on this link`);
    }
    this.adopt(uans);
    // Live transfer: the actor runs here before the source hears the commit succeeded.
    if (request.resume) this.rt.cells.resume(uans);
    return {};
  }

  private adopt(uans: string[]): void {
    const rt = this.rt;
    for (const uan of uans) {
      const cell = rt.cells.byUan.get(uan)!;
      cell.incoming = null;
      rt.routing.forget(uan);
      cell.reportedProgress = undefined;
      rt.mediator.noteProgress(cell);
    }
    rt.counters.migratedIn += uans.length;
    rt.log("info", "actors migrated in", { actors: uans.length });
    rt.routing.retryParked(uans);
  }

  /**
   * The source's link dropped. A transfer not yet acknowledged cannot have been committed: the
   * source keeps the actors, so discard. An acknowledged one is in doubt (the source may have
   * died holding the only other copy): keep it, held and invisible, until the Mediator settles it.
   */
  incomingLinkDropped(channel: Channel): void {
    this.incomingBatches.delete(channel);
    this.discardIncoming((cell) => cell.incoming?.channel === channel && !cell.incoming.acknowledged);
    let inDoubt = 0;
    for (const cell of this.rt.cells.byUan.values()) {
      if (cell.incoming?.channel !== channel) continue;
      cell.incoming.channel = null;
      inDoubt++;
    }
    if (inDoubt > 0) this.rt.log("warn", "source dropped the link after our acknowledgement; in doubt", { actors: inDoubt });
  }

  discardIncoming(matches: (cell: ActorCell) => boolean): Record<string, never> {
    const discarded: string[] = [];
    const cells = this.rt.cells.byUan;
    for (const cell of [...cells.values()]) {
      if (!cell.incoming || !matches(cell)) continue;
      cells.delete(cell.uan);
      discarded.push(cell.uan);
    }
    if (discarded.length > 0)
      this.rt.log("warn", "uncommitted migration discarded; the source keeps the actors", { actors: discarded.length });
    return {};
  }

  /** Mediator's verdict on a failed migration, for the actors that were sent here. */
  settleIncoming(request: MigrateSettleRequest): MigrateSettleReply {
    const reply: MigrateSettleReply = { committed: [], adopted: [], discarded: [] };
    for (const uan of request.uans) {
      const cell = this.rt.cells.byUan.get(uan);
      if (!cell) continue;
      if (!cell.incoming) reply.committed.push(uan);
      else if (!request.sourceAlive && cell.incoming.acknowledged && cell.incoming.channel === null) reply.adopted.push(uan);
      else if (request.sourceAlive || !cell.incoming.acknowledged) reply.discarded.push(uan);
    }
    const discard = new Set(reply.discarded);
    this.discardIncoming((cell) => discard.has(cell.uan));
    if (reply.adopted.length > 0) {
      this.rt.log("warn", "adopting acknowledged actors whose source is gone", { actors: reply.adopted.length });
      this.adopt(reply.adopted);
    }
    return reply;
  }
}

/** An actor as it travels (a migration) or is kept (a checkpoint), with `mailbox` as given. */
export function migratedActorOf(cell: ActorCell, mailbox: ActorCell["mailbox"]): MigratedActor {
  return {
    uan: cell.uan,
    behavior: cell.behaviorName,
    state: cell.state,
    mailbox,
    sendSeq: cell.sendSeq,
    recvNext: cell.recvNext,
    reorder: cell.reorder,
    seqBase: cell.seqBase,
    profile: cell.profile,
  };
}
