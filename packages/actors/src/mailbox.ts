import type { ActorCell } from "./actor-cells";
import type { Channel } from "./channel";
import type { DeliverMessage, MailboxEntry } from "./protocol";
import type { TheaterRuntime } from "./theater-runtime";

/** How long one drain turn may run before yielding to I/O (prepare/migrate requests must get in). */
const DRAIN_TURN_MS = 2;
const DEFAULT_MAILBOX_LIMIT = 10_000;
/** A link with more than this written but not yet taken by the kernel slows the actors sending on it. */
const LINK_HIGH_WATER_BYTES = 1024 * 1024;

/**
 * Mailboxes and their order: a delivered message goes into its actor's mailbox in per-sender
 * sequence order; actors run round-robin, one message per turn; a full mailbox or link slows
 * whoever fills it (backpressure).
 */
export class Mailboxes {
  private readonly runQueue = new Set<ActorCell>();
  private drainScheduled = false;

  constructor(private readonly rt: TheaterRuntime) {}

  enqueue(cell: ActorCell, entry: MailboxEntry): void {
    cell.mailbox.push(entry);
    this.markRunnable(cell);
  }

  /**
   * Puts a delivered message in the actor's mailbox in per-sender sequence order: one that comes
   * early (it overtook a forwarded one) waits for the gap to fill; one already delivered is dropped.
   */
  accept(cell: ActorCell, message: DeliverMessage, via?: Channel): void {
    this.acceptInOrder(cell, message);
    const length = cell.mailbox.length;
    const counters = this.rt.counters;
    if (length > counters.mailboxHighWater) counters.mailboxHighWater = length;
    // A full actor must run to drain, even if it is itself waiting on another: no cycle can freeze.
    if (cell.throttled && length >= this.mailboxLimit) this.unthrottle(cell);
    if (via && length >= this.mailboxLimit && !cell.held && !cell.outgoing && !cell.pausedChannels.has(via)) {
      via.socket.pause();
      cell.pausedChannels.add(via);
    }
  }

  private get mailboxLimit(): number {
    return this.rt.options.mailboxLimit ?? DEFAULT_MAILBOX_LIMIT;
  }

  /** After `sender` sent to `to`: pause it if the receiver's mailbox, or the link to it, is full. */
  applyBackpressure(sender: ActorCell, to: string): void {
    if (sender.mailbox.length >= this.mailboxLimit) return; // see accept: a full actor keeps running
    const receiver = this.rt.cells.byUan.get(to);
    if (receiver) {
      if (receiver !== sender && !receiver.incoming && receiver.mailbox.length >= this.mailboxLimit) {
        sender.throttled = true;
        receiver.waitingSenders.add(sender);
        this.rt.counters.throttled++;
      }
      return;
    }
    const link = this.rt.routing.linkFor(to);
    if (!link || link.pendingBytes <= LINK_HIGH_WATER_BYTES || sender.throttled) return;
    sender.throttled = true;
    this.rt.counters.throttled++;
    link.onDrained(() => this.unthrottle(sender));
  }

  private unthrottle(cell: ActorCell): void {
    if (!cell.throttled) return;
    cell.throttled = false;
    this.markRunnable(cell);
  }

  /** The mailbox drained (or the actor left, or holds): let its senders and peers go on. */
  relieve(cell: ActorCell): void {
    for (const sender of cell.waitingSenders) this.unthrottle(sender);
    cell.waitingSenders.clear();
    this.resumeChannels(cell);
  }

  resumeChannels(cell: ActorCell): void {
    for (const channel of cell.pausedChannels) {
      // Another full mailbox may still want this peer paused.
      const stillWanted = [...this.rt.cells.byUan.values()].some((other) => other !== cell && other.pausedChannels.has(channel));
      if (!stillWanted) channel.socket.resume();
    }
    cell.pausedChannels.clear();
  }

  private acceptInOrder(cell: ActorCell, message: DeliverMessage): void {
    if (cell.outgoing) {
      cell.outgoing.arrivals.push(message);
      return;
    }
    const from = message.from;
    if (from === null || message.seq === undefined) {
      this.enqueue(cell, { kind: "message", from, body: message.body });
      return;
    }
    const counters = this.rt.counters;
    const expected = cell.recvNext.get(from) ?? cell.seqBase + 1;
    if (message.seq < expected) {
      counters.duplicates++;
      return;
    }
    if (message.seq > expected) {
      let waiting = cell.reorder.get(from);
      if (!waiting) cell.reorder.set(from, (waiting = new Map()));
      if (waiting.has(message.seq)) counters.duplicates++;
      else {
        waiting.set(message.seq, { from, body: message.body });
        counters.reordered++;
      }
      return;
    }
    cell.mailbox.push({ kind: "message", from, body: message.body });
    let next = expected + 1;
    const waiting = cell.reorder.get(from);
    if (waiting) {
      for (let entry = waiting.get(next); entry; entry = waiting.get(next)) {
        waiting.delete(next);
        cell.mailbox.push({ kind: "message", from, body: entry.body });
        next++;
      }
      if (waiting.size === 0) cell.reorder.delete(from);
    }
    cell.recvNext.set(from, next);
    this.markRunnable(cell);
  }

  markRunnable(cell: ActorCell): void {
    if (this.rt.crashed || cell.held || cell.throttled || cell.outgoing || cell.incoming || cell.mailbox.length === 0) return;
    this.runQueue.add(cell);
    if (!this.drainScheduled) {
      this.drainScheduled = true;
      setImmediate(() => this.drain());
    }
  }

  /** Takes the actor out of the run queue (it holds, left, or was dropped). */
  unschedule(cell: ActorCell): void {
    this.runQueue.delete(cell);
  }

  /** Nothing runs any more (the theater crashed). */
  clear(): void {
    this.runQueue.clear();
  }

  /** Runs mailboxes round-robin, one message per actor per pass, yielding to I/O every few ms. */
  private drain(): void {
    this.drainScheduled = false;
    const deadline = performance.now() + DRAIN_TURN_MS;
    const cells = this.rt.cells;
    while (this.runQueue.size > 0 && performance.now() < deadline) {
      for (const cell of [...this.runQueue]) {
        this.runQueue.delete(cell);
        if (cells.byUan.get(cell.uan) !== cell || cell.held || cell.throttled || cell.outgoing || cell.incoming) continue;
        const entry = cell.mailbox.shift();
        if ((cell.waitingSenders.size > 0 || cell.pausedChannels.size > 0) && cell.mailbox.length <= this.mailboxLimit / 2)
          this.relieve(cell);
        if (!entry) continue;
        this.runHandler(cell, entry);
        this.rt.mediator.noteProgress(cell);
        if (cell.holdRequested) cells.tryHold(cell);
        if (cell.mailbox.length > 0) this.markRunnable(cell);
      }
    }
    if (this.runQueue.size > 0 && !this.drainScheduled) {
      this.drainScheduled = true;
      setImmediate(() => this.drain());
    }
  }

  private runHandler(cell: ActorCell, entry: MailboxEntry): void {
    cell.context.sender = entry.kind === "message" ? entry.from : null;
    cell.context.holdRequested = cell.holdRequested;
    const profile = cell.profile;
    if (entry.kind === "message" && entry.from !== cell.uan) {
      const peer = entry.from ?? "external";
      profile.receivedFrom.set(peer, (profile.receivedFrom.get(peer) ?? 0) + 1);
    }
    const startedAt = performance.now();
    try {
      if (entry.kind === "start") {
        if (cell.behavior.start) cell.state = cell.behavior.start(cell.state, cell.context);
      } else {
        cell.state = cell.behavior.receive(cell.state, entry.body, cell.context);
      }
      this.rt.counters.delivered++;
    } catch (error) {
      // The actor keeps its previous state; one bad message must not take the theater down.
      this.rt.log("error", "actor handler threw", { actor: cell.uan, error: (error as Error).stack ?? String(error) });
    }
    profile.handled++;
    profile.busyMs += performance.now() - startedAt;
  }
}
