import { serialize } from "node:v8";
import type { ActorBehavior, ActorContext } from "./behavior";
import type { Channel } from "./channel";
import type {
  ActorProfile,
  ActorProfileCounters,
  ActorSpec,
  CollectReply,
  DeliverMessage,
  HostedActor,
  MailboxEntry,
  PrepareReply,
  ProfileReply,
  MessageCountsReply,
  SpawnReply,
} from "./protocol";
import type { TheaterRuntime } from "./theater-runtime";

/** Target side of a transfer until the source commits. */
export interface IncomingTransfer {
  /** The source's connection; null once it dropped after the target acknowledged (in doubt). */
  channel: Channel | null;
  transfer: number;
  /** The whole transfer was installed and acknowledged. */
  acknowledged: boolean;
}

/** One actor as a theater hosts it: behaviour and state, mailbox, delivery order, hold and transfer flags. */
export interface ActorCell {
  uan: string;
  behaviorName: string;
  behavior: ActorBehavior<unknown, unknown>;
  state: unknown;
  mailbox: MailboxEntry[];
  /** Asked to hold at the next safe point (prepare or migration). */
  holdRequested: boolean;
  held: boolean;
  /** When it last reached a hold (performance.now()), for the hold time a migration reports. */
  heldAt?: number;
  timers: Map<number, { timeout: NodeJS.Timeout; body: unknown }>;
  /** Set while the actor is being shipped out: arrivals wait here, to be forwarded or restored. */
  outgoing: { arrivals: DeliverMessage[]; target: string } | null;
  /** Set on the target until the source commits (or the Mediator settles an in-doubt transfer). */
  incoming: IncomingTransfer | null;
  sendSeq: Map<string, number>;
  recvNext: Map<string, number>;
  reorder: Map<string, Map<number, { from: string; body: unknown }>>;
  /**
   * Where this incarnation's sequence numbers start (0; a restore from a checkpoint raises it for
   * the whole application, so messages still in flight from before the restore are duplicates).
   */
  seqBase: number;
  profile: ActorProfileCounters;
  /** Backpressure: not run until the mailbox (or link) it filled has drained. */
  throttled: boolean;
  /** Local actors throttled by this one's full mailbox. */
  waitingSenders: Set<ActorCell>;
  /** Peer connections not read from while this one's mailbox is full. */
  pausedChannels: Set<Channel>;
  /** `sender` is rewritten before each handler call. */
  context: { -readonly [K in keyof ActorContext]: ActorContext[K] };
  reportedProgress: number | undefined;
}

/**
 * The actors of a theater: creating them (spawn), holding them at a safe point (prepare) and
 * letting them go (resume), reading their state (collect, profile).
 */
export class ActorCells {
  /** Every actor here, including ones still arriving (`incoming`) or leaving (`outgoing`). */
  readonly byUan = new Map<string, ActorCell>();
  private readonly newlyHeld = new Set<string>();
  private heldFlushScheduled = false;
  private readonly holdWaiters = new Set<() => void>();
  private nextTimerId = 1;

  constructor(private readonly rt: TheaterRuntime) {}

  /** The actors this theater owns (not those still arriving). */
  hostedActors(): HostedActor[] {
    return [...this.byUan.values()]
      .filter((cell) => cell.incoming === null)
      .map((cell) => ({ uan: cell.uan, behavior: cell.behaviorName }));
  }

  spawn(specs: ActorSpec[]): SpawnReply {
    if (this.rt.stopping) throw new Error("theater is stopping");
    for (const spec of specs) {
      if (!this.rt.options.behaviors[spec.behavior]) throw new Error(`unknown behavior "${spec.behavior}" for ${spec.uan}`);
      if (this.byUan.has(spec.uan)) throw new Error(`${spec.uan} already lives here`);
    }
    // Create the whole batch before any actor starts, so first messages find their neighbours.
    const created: ActorCell[] = [];
    for (const spec of specs) {
      const behavior = this.rt.options.behaviors[spec.behavior]!;
      const cell = this.createCell(spec.uan, spec.behavior, behavior.init(spec.init, spec.uan));
      if (behavior.start) cell.mailbox.push({ kind: "start" });
      created.push(cell);
    }
    this.installRunning(created);
    this.rt.log("info", "actors spawned", { count: created.length });
    return spawnReply(created);
  }

  /** New actors (spawned or restored) take their place here and run. */
  installRunning(created: ActorCell[]): void {
    for (const cell of created) {
      this.byUan.set(cell.uan, cell);
      this.rt.routing.forget(cell.uan);
      this.rt.mediator.noteProgress(cell);
      this.rt.mailboxes.markRunnable(cell);
    }
  }

  createCell(uan: string, behaviorName: string, state: unknown): ActorCell {
    const behavior = this.rt.options.behaviors[behaviorName];
    if (!behavior) throw new Error(`unknown behavior "${behaviorName}" for ${uan}`);
    const cell: ActorCell = {
      uan,
      behaviorName,
      behavior,
      state,
      mailbox: [],
      holdRequested: false,
      held: false,
      timers: new Map(),
      outgoing: null,
      incoming: null,
      sendSeq: new Map(),
      recvNext: new Map(),
      reorder: new Map(),
      seqBase: 0,
      profile: { receivedFrom: new Map(), sentTo: new Map(), handled: 0, busyMs: 0 },
      throttled: false,
      waitingSenders: new Set(),
      pausedChannels: new Set(),
      reportedProgress: undefined,
      context: {
        self: uan,
        sender: null,
        holdRequested: false,
        send: (to, message) => {
          const seq = (cell.sendSeq.get(to) ?? cell.seqBase) + 1;
          cell.sendSeq.set(to, seq);
          cell.profile.sentTo.set(to, (cell.profile.sentTo.get(to) ?? 0) + 1);
          this.rt.routing.route({ type: "deliver", to, from: uan, body: structuredClone(message), hops: 0, seq });
          this.rt.mailboxes.applyBackpressure(cell, to);
        },
        schedule: (message, delayMs) => this.scheduleSelfMessage(cell, message, delayMs),
        log: (fields) => this.rt.log("info", "actor log", { actor: uan, ...fields }),
      },
    };
    return cell;
  }

  private scheduleSelfMessage(cell: ActorCell, body: unknown, delayMs: number): void {
    const id = this.nextTimerId++;
    const timeout = setTimeout(
      () => {
        cell.timers.delete(id);
        if (this.byUan.get(cell.uan) === cell) this.rt.mailboxes.enqueue(cell, { kind: "message", from: cell.uan, body });
      },
      Math.max(0, delayMs),
    );
    cell.timers.set(id, { timeout, body });
  }

  /** Pending self-messages, as mailbox entries (a checkpoint or a migration carries them). */
  pendingSelfMessages(cell: ActorCell): MailboxEntry[] {
    return [...cell.timers.values()].map((timer) => ({ kind: "message" as const, from: cell.uan, body: timer.body }));
  }

  /** Stops every pending self-message of every actor (the theater stops or crashes). */
  clearAllTimers(): void {
    for (const cell of this.byUan.values()) for (const timer of cell.timers.values()) clearTimeout(timer.timeout);
  }

  // ── Hold ────────────────────────────────────────────────────────────────────────────────────

  prepare(uans: string[]): PrepareReply {
    const held: string[] = [];
    const unknown: string[] = [];
    for (const uan of uans) {
      const cell = this.byUan.get(uan);
      if (!cell) {
        unknown.push(uan);
        continue;
      }
      cell.holdRequested = true;
      if (this.tryHold(cell)) held.push(uan);
      else this.rt.mailboxes.markRunnable(cell); // it must keep running to reach its safe point
    }
    for (const uan of held) this.newlyHeld.delete(uan); // in this reply; later ones go out as `held` messages
    return { held, unknown };
  }

  tryHold(cell: ActorCell): boolean {
    if (cell.held) return true;
    if (!cell.holdRequested) return false;
    const safe = cell.behavior.isSafePoint ? cell.behavior.isSafePoint(cell.state) : true;
    if (!safe) return false;
    cell.held = true;
    cell.heldAt = performance.now();
    this.rt.mailboxes.unschedule(cell);
    this.rt.mailboxes.resumeChannels(cell); // a held actor does not drain: never block a link (and migrations on it) for it
    this.newlyHeld.add(cell.uan);
    this.scheduleHeldFlush();
    for (const waiter of [...this.holdWaiters]) waiter();
    return true;
  }

  private scheduleHeldFlush(): void {
    if (this.heldFlushScheduled) return;
    this.heldFlushScheduled = true;
    setImmediate(() => {
      this.heldFlushScheduled = false;
      if (this.newlyHeld.size === 0) return;
      this.rt.mediator.send({ type: "held", uans: [...this.newlyHeld] });
      this.newlyHeld.clear();
    });
  }

  resume(uans: string[] | "all"): void {
    const cells = uans === "all" ? [...this.byUan.values()] : uans.map((uan) => this.byUan.get(uan));
    let resumed = 0;
    for (const cell of cells) {
      // Actors still being shipped in or out are not this theater's to run.
      if (!cell || cell.outgoing || cell.incoming) continue;
      cell.holdRequested = false;
      cell.held = false;
      this.rt.mailboxes.markRunnable(cell);
      resumed++;
    }
    this.rt.log("info", "actors resumed", { count: resumed });
  }

  waitUntilHeld(cells: ActorCell[], timeoutMs: number): Promise<void> {
    const allHeld = () => cells.every((cell) => cell.held);
    if (allHeld()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter = () => {
        if (!allHeld()) return;
        cleanup();
        resolve();
      };
      const timer = setTimeout(() => {
        cleanup();
        const notHeld = cells.filter((cell) => !cell.held).map((cell) => cell.uan);
        reject(new Error(`actors did not reach a safe point within ${timeoutMs} ms: ${notHeld.join(", ")}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.holdWaiters.delete(waiter);
      };
      this.holdWaiters.add(waiter);
    });
  }

  // ── Reading actors ──────────────────────────────────────────────────────────────────────────

  collect(uans: string[]): CollectReply {
    const states = new Map<string, unknown>();
    const missing: string[] = [];
    for (const uan of uans) {
      const cell = this.byUan.get(uan);
      if (cell && !cell.incoming) states.set(uan, cell.state);
      else missing.push(uan);
    }
    return { states, missing };
  }

  profile(): ProfileReply {
    const actors: ActorProfile[] = [];
    for (const cell of this.byUan.values()) {
      if (cell.incoming) continue;
      actors.push({
        uan: cell.uan,
        behavior: cell.behaviorName,
        stateBytes: serialize(cell.state).length,
        mailboxLength: cell.mailbox.length,
        handled: cell.profile.handled,
        busyMs: cell.profile.busyMs,
        receivedFrom: Object.fromEntries(cell.profile.receivedFrom),
        sentTo: Object.fromEntries(cell.profile.sentTo),
      });
    }
    return { actors };
  }

  /** Each hosted actor's messages sent per receiver, without measuring its state. */
  messageCounts(): MessageCountsReply {
    const actors: MessageCountsReply["actors"] = [];
    for (const cell of this.byUan.values()) {
      if (!cell.incoming) actors.push({ uan: cell.uan, sentTo: Object.fromEntries(cell.profile.sentTo) });
    }
    return { actors };
  }
}

export function spawnReply(created: ActorCell[]): SpawnReply {
  return {
    actors: created.map((cell) => ({ uan: cell.uan, behavior: cell.behaviorName, stateBytes: serialize(cell.state).length })),
  };
}
