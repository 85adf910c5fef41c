import { createServer, connect, type Server, type Socket } from "node:net";
import { serialize } from "node:v8";
import type { ActorBehavior, ActorContext, BehaviorRegistry } from "./behavior";
import { Channel, RemoteError } from "./channel";
import { decodeMigrationBatch, encodeMigratedActor, encodeMigrationBatch, type EncodedActor } from "./migration-codec";
import type { ChunkedBytes } from "./framing";
import { formatAddress, parseAddress, parseAddressList } from "./names";
import { MIN_PEER_KEY_BYTES, acceptPeer } from "./peer-auth";
import { checkDeliver } from "./guards";
import { PeerLink } from "./peer-link";
import {
  REGISTRATION_REFUSED_PREFIX,
  bodyType,
  type ActorSpec,
  type CollectReply,
  type DeliverMessage,
  type DirectoryEntry,
  type HostedActor,
  type MailboxEntry,
  type ActorProfile,
  type ActorProfileCounters,
  type MigratedActor,
  type MigrateFinishRequest,
  type MigrateInRequest,
  type MigrateOutReply,
  type MigrateOutRequest,
  type MigrateSettleReply,
  type MigrateSettleRequest,
  type MovedMessage,
  type PrepareReply,
  type ProfileReply,
  type AdmitReply,
  type RegisterReply,
  type ResolveReply,
  type RestoreRequest,
  type SnapshotReply,
  type SpawnReply,
} from "./protocol";
import type { ActivityReply, ActivityRequest, MigrateCommitRequest } from "./protocol";
import { ActivityLog } from "./activity-log";

/** A theater forwards a message at most this many times before asking the Mediator afresh. */
const MAX_FORWARD_HOPS = 16;
/** How long one drain turn may run before yielding to I/O (prepare/migrate requests must get in). */
const DRAIN_TURN_MS = 2;
const PARKED_RETRY_MS = 500;
const MEDIATOR_REQUEST_TIMEOUT_MS = 10_000;
/** A Mediator host that does not answer a connection attempt (gone from the network) is skipped after this. */
const MEDIATOR_CONNECT_TIMEOUT_MS = 5_000;
const RECONNECT_FIRST_DELAY_MS = 100;
const RECONNECT_MAX_DELAY_MS = 2_000;
const HOLD_FOR_MIGRATION_TIMEOUT_MS = 10_000;
const STOP_STEP_TIMEOUT_MS = 3_000;
/** A migration streams its actors in pipelined batches of about this many bytes. */
const MIGRATION_BATCH_BYTES = 4 * 1024 * 1024;
const DEFAULT_MAILBOX_LIMIT = 10_000;
/** A link with more than this written but not yet taken by the kernel slows the actors sending on it. */
const LINK_HIGH_WATER_BYTES = 1024 * 1024;

/** Peer links waiting for their handshake, at most (more are closed at once), and per remote address. */
const MAX_HANDSHAKING_PEER_LINKS = 256;
const MAX_HANDSHAKING_PER_ADDRESS = 64;

export type LogFields = Record<string, unknown>;
export type TheaterLog = (entry: LogFields) => void;

export interface TheaterOptions {
  vmId: string;
  /**
   * Mediator addresses, host:port, as a list or comma-separated: tried in turn (failover). A
   * Mediator's registration reply may replace the list (workers started later).
   */
  mediator: string | readonly string[];
  secret: string;
  behaviors: BehaviorRegistry;
  /** Interface to listen on for other theaters; default 127.0.0.1. */
  listenHost?: string;
  listenPort?: number;
  /** Host other theaters should dial (a guest listening on 0.0.0.0 advertises its own IP). */
  advertisedHost?: string;
  /** Progress reports are batched and sent at most this often (default 200 ms). */
  progressIntervalMs?: number;
  /**
   * Pause after a round of the Mediator list in which none accepted us; it doubles each round up
   * to `reconnectMaxDelayMs` (defaults 100 ms and 2 s).
   */
  reconnectDelayMs?: number;
  reconnectMaxDelayMs?: number;
  /** How long `start` keeps trying to reach the Mediator (default 60 s). */
  registrationTimeoutMs?: number;
  /** Receives one structured entry per event; default: one JSON line on stderr. */
  log?: TheaterLog;
  /** Called when the theater cannot go on (e.g. its registration was refused after a reconnect). */
  onFatal?: (reason: string) => void;
  /**
   * Mailbox bound (messages, default 10,000). A local sender to a fuller mailbox is not run
   * again until it has drained to half; a peer delivering to it is not read from meanwhile.
   * One handler call can still overshoot the bound by what it sends.
   */
  mailboxLimit?: number;
  /** A migration streams its actors in pipelined batches of about this many bytes (default 4 MiB). */
  migrationBatchBytes?: number;
  /** Test hooks to make failure windows deterministic. */
  faults?: TheaterFaultHooks;
}

export interface TheaterFaultHooks {
  /** Target: all batches installed, before the acknowledgement goes out. */
  beforeMigrationAck?: () => void;
  /** Target: batch `index` (from 0) installed, before its reply. */
  afterMigrationBatchReceived?: (index: number) => void;
  /** Source: batch `index` written to the link; `dropLink` cuts the connection as a network fault would. */
  afterMigrationBatchSent?: (index: number, dropLink: () => void) => void;
  /** Source: the target acknowledged the whole transfer, before the commit is sent. */
  afterMigrationAcknowledged?: () => void;
}

/** Target side of a transfer until the source commits. */
interface IncomingTransfer {
  /** The source's connection; null once it dropped after the target acknowledged (in doubt). */
  channel: Channel | null;
  transfer: number;
  /** The whole transfer was installed and acknowledged. */
  acknowledged: boolean;
}

export class TheaterRefusedError extends Error {}

interface ActorCell {
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

export interface TheaterStats {
  actors: number;
  delivered: number;
  forwarded: number;
  parked: number;
  migratedOut: number;
  migratedIn: number;
  /** Sequenced messages that arrived ahead of an earlier one and waited for it. */
  reordered: number;
  /** Times an actor was paused because a mailbox or link it sent to was full. */
  throttled: number;
  /** Longest mailbox seen. */
  mailboxHighWater: number;
  /** Sequenced messages already delivered, dropped on a second arrival. */
  duplicates: number;
}

export class Theater {
  readonly vmId: string;
  private readonly options: TheaterOptions;
  private readonly log: (level: "debug" | "info" | "warn" | "error", msg: string, fields?: LogFields) => void;
  private server: Server | null = null;
  private advertisedAddress = "";
  private mediatorChannel: Channel | null = null;
  /** Where to look for a Mediator, in order; replaced by a Mediator's registration reply. */
  private mediators: string[];
  /** The Mediator we registered with last (tried first after a loss: it may just have restarted). */
  private lastMediator: string | null = null;
  /** The cluster peer key, from the Mediator that admitted us; null until then (no peer is accepted). */
  private peerKey: Buffer | null = null;
  /** Incoming peer connections still in the handshake. */
  private readonly handshaking = new Set<Channel>();
  private peerLinksRefusedAtCap = 0;
  private reconnecting = false;
  private readonly cells = new Map<string, ActorCell>();
  /** Where actors that left this theater went. Kept so late messages are forwarded, never dropped. */
  private readonly forwarding = new Map<string, string>();
  private readonly directoryCache = new Map<string, string>();
  private readonly links = new Map<string, PeerLink>();
  private readonly incoming = new Set<Channel>();
  private readonly goodbyeWaiters = new Map<Channel, () => void>();
  /** Messages waiting for the Mediator to say where their actor lives. */
  private readonly resolving = new Map<string, DeliverMessage[]>();
  /** Messages whose actor nobody could locate yet; retried on directory updates and a timer. */
  private readonly parked = new Map<string, DeliverMessage[]>();
  private parkedRetryTimer: NodeJS.Timeout | null = null;
  /** Addresses that recently refused or dropped us, so a stale directory answer does not spin. */
  private readonly unreachableUntil = new Map<string, number>();
  private readonly runQueue = new Set<ActorCell>();
  private drainScheduled = false;
  private readonly progressDirty = new Map<string, number>();
  private readonly activity = new ActivityLog();
  private progressTimer: NodeJS.Timeout | null = null;
  private readonly newlyHeld = new Set<string>();
  private heldFlushScheduled = false;
  private readonly holdWaiters = new Set<() => void>();
  /** Batches of the current transfer received per source connection. */
  private readonly incomingBatches = new Map<Channel, number>();
  private nextTimerId = 1;
  /** The pause between two rounds of the Mediator list; stopping cuts it short. */
  private reconnectPause: { timer: NodeJS.Timeout; wake: () => void } | null = null;
  private stopping = false;
  private resolveStopped: () => void = () => {};
  /** Resolves when the theater has stopped (after a graceful stop requested by the Mediator or `stop()`). */
  readonly stopped: Promise<void>;
  private readonly counters = {
    delivered: 0,
    forwarded: 0,
    migratedOut: 0,
    migratedIn: 0,
    reordered: 0,
    duplicates: 0,
    throttled: 0,
    mailboxHighWater: 0,
  };
  private nextTransferId = 1;
  private crashed = false;

  constructor(options: TheaterOptions) {
    this.options = options;
    this.vmId = options.vmId;
    const sink: TheaterLog = options.log ?? ((entry) => process.stderr.write(`${JSON.stringify(entry)}\n`));
    this.log = (level, msg, fields = {}) =>
      sink({ ts: new Date().toISOString(), level, component: "theater", vmId: this.vmId, msg, ...fields });
    this.stopped = new Promise((resolve) => (this.resolveStopped = resolve));
    this.mediators = typeof options.mediator === "string" ? parseAddressList(options.mediator) : [...options.mediator];
    if (this.mediators.length === 0) throw new Error("a theater needs at least one Mediator address");
    for (const address of this.mediators) parseAddress(address);
  }

  /** The Mediator addresses this theater would try now, in order. */
  get mediatorAddresses(): string[] {
    return [...this.mediators];
  }

  /** host:port other theaters dial; empty before `start`. */
  get address(): string {
    return this.advertisedAddress;
  }

  get stats(): TheaterStats {
    let parked = 0;
    for (const messages of this.parked.values()) parked += messages.length;
    return { actors: this.cells.size, parked, ...this.counters };
  }

  hostedActors(): HostedActor[] {
    return [...this.cells.values()]
      .filter((cell) => cell.incoming === null)
      .map((cell) => ({ uan: cell.uan, behavior: cell.behaviorName }));
  }

  /** Listens for peers, then registers with the Mediator. Rejects with TheaterRefusedError if refused. */
  async start(): Promise<{ address: string }> {
    const listenHost = this.options.listenHost ?? "127.0.0.1";
    const server = createServer((socket) => this.acceptPeer(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.options.listenPort ?? 0, listenHost, () => {
        server.off("error", reject);
        resolve();
      });
    });
    const port = (server.address() as { port: number }).port;
    this.advertisedAddress = formatAddress(this.options.advertisedHost ?? listenHost, port);
    const interval = this.options.progressIntervalMs ?? 200;
    this.progressTimer = setInterval(() => this.flushProgress(), interval);
    this.progressTimer.unref();
    try {
      await this.registerAnywhere(Date.now() + (this.options.registrationTimeoutMs ?? 60_000));
    } catch (error) {
      clearInterval(this.progressTimer);
      server.close();
      throw error;
    }
    this.log("info", "theater registered", { address: this.advertisedAddress, pid: process.pid, mediator: this.lastMediator });
    return { address: this.advertisedAddress };
  }

  /**
   * Graceful stop: stop accepting peers, let every peer that connected to us confirm it sent its
   * last message, forward whatever is still pending, then close. Actors still hosted are dropped,
   * so the Mediator only asks once they have been migrated away.
   */
  async stop(): Promise<void> {
    if (this.stopping) return this.stopped;
    await this.drainForStop();
    await this.finishStop();
  }

  /**
   * Test hook: dies the way a killed process does, as its peers see it. Every connection is cut at
   * once, nothing is flushed or handed over, and the theater never acts again.
   */
  simulateCrash(): void {
    if (this.crashed) return;
    this.crashed = true;
    this.stopping = true;
    this.log("warn", "simulated crash");
    if (this.progressTimer) clearInterval(this.progressTimer);
    if (this.parkedRetryTimer) clearTimeout(this.parkedRetryTimer);
    this.endReconnectPause();
    for (const cell of this.cells.values()) for (const timer of cell.timers.values()) clearTimeout(timer.timeout);
    this.cells.clear();
    this.runQueue.clear();
    this.server?.close();
    for (const channel of this.handshaking) channel.destroy("crashed");
    for (const channel of this.incoming) channel.destroy("crashed");
    for (const link of this.links.values()) link.destroy("crashed");
    this.mediatorChannel?.destroy("crashed");
    this.mediatorChannel = null;
    this.resolveStopped();
  }

  // ── Mediator connection ─────────────────────────────────────────────────────────────────────

  /**
   * Tries the Mediator list in turn, starting with the one we last registered with, until one
   * accepts; between rounds waits a delay that doubles up to a cap. A guest may boot before any
   * Mediator listens, and after a loss another worker's Mediator may take over. Refused by every
   * Mediator of a round: TheaterRefusedError. Out of time (`deadline`): the last error.
   */
  private async registerAnywhere(deadline: number | null): Promise<void> {
    let delayMs = this.options.reconnectDelayMs ?? RECONNECT_FIRST_DELAY_MS;
    const maxDelayMs = Math.max(delayMs, this.options.reconnectMaxDelayMs ?? RECONNECT_MAX_DELAY_MS);
    for (let round = 1; ; round++) {
      const start = this.lastMediator ? Math.max(0, this.mediators.indexOf(this.lastMediator)) : 0;
      const order = [...this.mediators.slice(start), ...this.mediators.slice(0, start)];
      const refusals: string[] = [];
      let lastError: Error | undefined;
      for (const address of order) {
        if (this.stopping) throw new Error("theater is stopping");
        try {
          await this.connectToMediator(address);
          return;
        } catch (error) {
          if (error instanceof TheaterRefusedError) refusals.push(`${address}: ${error.message}`);
          lastError = error as Error;
        }
      }
      if (refusals.length === order.length) throw new TheaterRefusedError(refusals.join("; "));
      if (deadline !== null && Date.now() >= deadline) throw lastError ?? new Error("no Mediator reachable");
      if (round === 1)
        this.log("warn", "mediator not reachable yet; retrying", { mediators: order, error: lastError?.message, refusals });
      await new Promise<void>((wake) => (this.reconnectPause = { timer: setTimeout(wake, delayMs), wake }));
      this.reconnectPause = null;
      delayMs = Math.min(delayMs * 2, maxDelayMs);
    }
  }

  private endReconnectPause(): void {
    if (!this.reconnectPause) return;
    clearTimeout(this.reconnectPause.timer);
    this.reconnectPause.wake();
  }

  private async connectToMediator(address: string): Promise<void> {
    const { host, port } = parseAddress(address);
    const socket = await new Promise<Socket>((resolve, reject) => {
      const candidate = connect({ host, port });
      const timer = setTimeout(() => {
        candidate.destroy();
        reject(new Error(`mediator ${address} did not answer within ${MEDIATOR_CONNECT_TIMEOUT_MS} ms`));
      }, MEDIATOR_CONNECT_TIMEOUT_MS);
      candidate.once("error", (error) => {
        clearTimeout(timer);
        reject(error);
      });
      candidate.once("connect", () => {
        clearTimeout(timer);
        candidate.removeAllListeners("error");
        resolve(candidate);
      });
    });
    const channel: Channel = new Channel(socket, {
      onRequest: (body, self) => this.handleMediatorRequest(body, self),
      onMessage: (body) => this.handleMediatorMessage(body),
      onClose: (reason, self) => this.handleMediatorClosed(self, reason),
    });
    let reply: RegisterReply;
    try {
      // Admission first, as a small JSON frame: the Mediator decodes nothing else from a
      // connection that has not proven its VM (see Mediator "admit").
      await channel.requestJson<AdmitReply>(
        { type: "admit", vmId: this.vmId, secret: this.options.secret, address: this.advertisedAddress, pid: process.pid },
        MEDIATOR_REQUEST_TIMEOUT_MS,
      );
      reply = await channel.request<RegisterReply>(
        {
          type: "register",
          vmId: this.vmId,
          secret: this.options.secret,
          address: this.advertisedAddress,
          pid: process.pid,
          actors: this.hostedActors(),
        },
        MEDIATOR_REQUEST_TIMEOUT_MS,
      );
    } catch (error) {
      channel.destroy("registration failed");
      if (error instanceof RemoteError && error.message.startsWith(REGISTRATION_REFUSED_PREFIX)) {
        throw new TheaterRefusedError(error.message.slice(REGISTRATION_REFUSED_PREFIX.length));
      }
      throw error;
    }
    if (this.stopping) {
      channel.destroy("theater is stopping");
      throw new Error("theater is stopping");
    }
    this.mediatorChannel = channel;
    this.lastMediator = address;
    this.adoptRegisterReply(reply, address);
    this.retryParked();
  }

  /** What the admitting Mediator hands over: the cluster peer key and, optionally, a new Mediator list. */
  private adoptRegisterReply(reply: RegisterReply, from: string): void {
    const key = reply?.peerKey;
    if (key instanceof Uint8Array && key.length >= MIN_PEER_KEY_BYTES) {
      const fresh = Buffer.from(key);
      if (this.peerKey && !this.peerKey.equals(fresh))
        this.log("warn", "the cluster peer key changed; new peer links use the new one", { mediator: from });
      this.peerKey = fresh;
    } else {
      this.log("error", "the mediator sent no usable peer key; peers cannot link to this theater", { mediator: from });
    }
    const list = reply?.mediators;
    if (list === undefined) return;
    let parsed: string[] = [];
    try {
      if (!Array.isArray(list) || list.some((entry) => typeof entry !== "string")) throw new Error("not a list of strings");
      parsed = parseAddressList(list.join(","));
    } catch (error) {
      this.log("warn", "ignoring a malformed mediator list", { mediator: from, error: (error as Error).message });
      return;
    }
    if (parsed.length === 0 || parsed.join(",") === this.mediators.join(",")) return;
    this.mediators = parsed;
    this.log("info", "mediator list updated", { mediators: parsed });
  }

  private handleMediatorClosed(channel: Channel, reason: string): void {
    if (this.mediatorChannel !== channel) return; // a refused or superseded attempt
    this.mediatorChannel = null;
    if (this.stopping) return;
    this.log("warn", "lost the mediator; reconnecting", { reason, mediator: this.lastMediator, mediators: this.mediators });
    void this.reconnect();
  }

  private async reconnect(): Promise<void> {
    if (this.reconnecting || this.stopping) return;
    this.reconnecting = true;
    try {
      await this.registerAnywhere(null);
    } catch (error) {
      if (this.stopping) return;
      this.log("error", "re-registration refused", { reason: (error as Error).message });
      this.options.onFatal?.(`registration refused: ${(error as Error).message}`);
      return;
    } finally {
      this.reconnecting = false;
    }
    this.log("info", "re-registered with the mediator", { mediator: this.lastMediator, actors: this.cells.size });
    // A restarted (or another) Mediator knows no progress yet: report every actor's again, finished ones too.
    for (const cell of this.cells.values()) {
      cell.reportedProgress = undefined;
      this.noteProgress(cell);
    }
  }

  private handleMediatorMessage(body: unknown): void {
    if (bodyType(body) === "deliver") this.route(body as DeliverMessage);
  }

  private async handleMediatorRequest(body: unknown, channel: Channel): Promise<unknown> {
    const request = body as { type: string } & Record<string, unknown>;
    switch (bodyType(body)) {
      case "spawn":
        return this.spawn(request.specs as ActorSpec[]);
      case "prepare":
        return this.prepare(request.uans as string[]);
      case "resume":
        this.resume(request.uans as string[] | "all");
        return {};
      case "migrate-out":
        return this.migrateOut(body as MigrateOutRequest);
      case "migrate-settle":
        return this.settleIncoming(body as MigrateSettleRequest);
      case "migrate-finish":
        this.finishInDoubt(body as MigrateFinishRequest);
        return {};
      case "profile":
        return this.profile();
      case "directory":
        this.applyDirectory(request.entries as DirectoryEntry[]);
        return {};
      case "collect":
        return this.collect(request.uans as string[]);
      case "activity": {
        const { fromMs, toMs } = body as ActivityRequest;
        return this.activity.window(fromMs, toMs) satisfies ActivityReply;
      }
      case "snapshot":
        return this.snapshot(request.uans as string[]);
      case "restore":
        return this.restore(body as RestoreRequest);
      case "discard":
        return this.discard(request.uans as string[]);
      case "stop":
        await this.drainForStop();
        // Let the reply go out first; the Mediator treats the close as the end of the stop.
        setImmediate(() => void this.finishStop(channel));
        return {};
      default:
        throw new Error(`unknown mediator request ${JSON.stringify(bodyType(body))}`);
    }
  }

  // ── Actor lifecycle ─────────────────────────────────────────────────────────────────────────

  private spawn(specs: ActorSpec[]): SpawnReply {
    if (this.stopping) throw new Error("theater is stopping");
    for (const spec of specs) {
      if (!this.options.behaviors[spec.behavior]) throw new Error(`unknown behavior "${spec.behavior}" for ${spec.uan}`);
      if (this.cells.has(spec.uan)) throw new Error(`${spec.uan} already lives here`);
    }
    // Create the whole batch before any actor starts, so first messages find their neighbours.
    const created: ActorCell[] = [];
    for (const spec of specs) {
      const behavior = this.options.behaviors[spec.behavior]!;
      const cell = this.createCell(spec.uan, spec.behavior, behavior.init(spec.init, spec.uan));
      if (behavior.start) cell.mailbox.push({ kind: "start" });
      created.push(cell);
    }
    for (const cell of created) {
      this.cells.set(cell.uan, cell);
      this.forwarding.delete(cell.uan);
      this.directoryCache.delete(cell.uan);
      this.noteProgress(cell);
      this.markRunnable(cell);
    }
    this.log("info", "actors spawned", { count: created.length });
    return {
      actors: created.map((cell) => ({ uan: cell.uan, behavior: cell.behaviorName, stateBytes: serialize(cell.state).length })),
    };
  }

  private createCell(uan: string, behaviorName: string, state: unknown): ActorCell {
    const behavior = this.options.behaviors[behaviorName];
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
          this.route({ type: "deliver", to, from: uan, body: structuredClone(message), hops: 0, seq });
          this.applyBackpressure(cell, to);
        },
        schedule: (message, delayMs) => this.scheduleSelfMessage(cell, message, delayMs),
        log: (fields) => this.log("info", "actor log", { actor: uan, ...fields }),
      },
    };
    return cell;
  }

  private scheduleSelfMessage(cell: ActorCell, body: unknown, delayMs: number): void {
    const id = this.nextTimerId++;
    const timeout = setTimeout(
      () => {
        cell.timers.delete(id);
        if (this.cells.get(cell.uan) === cell) this.enqueue(cell, { kind: "message", from: cell.uan, body });
      },
      Math.max(0, delayMs),
    );
    cell.timers.set(id, { timeout, body });
  }

  private prepare(uans: string[]): PrepareReply {
    const held: string[] = [];
    const unknown: string[] = [];
    for (const uan of uans) {
      const cell = this.cells.get(uan);
      if (!cell) {
        unknown.push(uan);
        continue;
      }
      cell.holdRequested = true;
      if (this.tryHold(cell)) held.push(uan);
      else this.markRunnable(cell); // it must keep running to reach its safe point
    }
    for (const uan of held) this.newlyHeld.delete(uan); // in this reply; later ones go out as `held` messages
    return { held, unknown };
  }

  private tryHold(cell: ActorCell): boolean {
    if (cell.held) return true;
    if (!cell.holdRequested) return false;
    const safe = cell.behavior.isSafePoint ? cell.behavior.isSafePoint(cell.state) : true;
    if (!safe) return false;
    cell.held = true;
    cell.heldAt = performance.now();
    this.runQueue.delete(cell);
    this.resumeChannels(cell); // a held actor does not drain: never block a link (and migrations on it) for it
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
      this.mediatorChannel?.send({ type: "held", uans: [...this.newlyHeld] });
      this.newlyHeld.clear();
    });
  }

  private resume(uans: string[] | "all"): void {
    const cells = uans === "all" ? [...this.cells.values()] : uans.map((uan) => this.cells.get(uan));
    let resumed = 0;
    for (const cell of cells) {
      // Actors still being shipped in or out are not this theater's to run.
      if (!cell || cell.outgoing || cell.incoming) continue;
      cell.holdRequested = false;
      cell.held = false;
      this.markRunnable(cell);
      resumed++;
    }
    this.log("info", "actors resumed", { count: resumed });
  }

  private collect(uans: string[]): CollectReply {
    const states = new Map<string, unknown>();
    const missing: string[] = [];
    for (const uan of uans) {
      const cell = this.cells.get(uan);
      if (cell && !cell.incoming) states.set(uan, cell.state);
      else missing.push(uan);
    }
    return { states, missing };
  }

  /**
   * Each actor as a migration would ship it (state, mailbox with pending self-messages, delivery
   * order state), without moving or changing it: a checkpoint of actors held at their safe point.
   */
  private snapshot(uans: string[]): SnapshotReply {
    const actors: MigratedActor[] = [];
    const missing: string[] = [];
    for (const uan of uans) {
      const cell = this.cells.get(uan);
      if (!cell || cell.incoming || cell.outgoing) {
        missing.push(uan);
        continue;
      }
      const pending = [...cell.timers.values()].map((timer) => ({ kind: "message" as const, from: cell.uan, body: timer.body }));
      actors.push({
        uan: cell.uan,
        behavior: cell.behaviorName,
        state: cell.state,
        mailbox: [...cell.mailbox, ...pending],
        sendSeq: cell.sendSeq,
        recvNext: cell.recvNext,
        reorder: cell.reorder,
        seqBase: cell.seqBase,
        profile: cell.profile,
      });
    }
    // The reply is serialized as it is sent, before anything here runs again: a copy.
    return { actors, missing, held: actors.filter((a) => this.cells.get(a.uan)?.held).map((a) => a.uan) };
  }

  /**
   * Installs actors from a checkpoint and lets them run. Their sequence numbers are rebased onto
   * `seqBase` (the same for every actor of the application), so a message an earlier incarnation
   * sent that is still on its way arrives as an old number and is dropped as a duplicate.
   */
  private restore(request: RestoreRequest): SpawnReply {
    if (this.stopping) throw new Error("theater is stopping");
    for (const actor of request.actors) {
      if (!this.options.behaviors[actor.behavior]) throw new Error(`unknown behavior "${actor.behavior}" for ${actor.uan}`);
      if (this.cells.has(actor.uan)) throw new Error(`${actor.uan} already lives here`);
    }
    const rebase = (n: number, from: number) => request.seqBase + (n - from);
    const created: ActorCell[] = [];
    for (const actor of request.actors) {
      const from = actor.seqBase ?? 0;
      const cell = this.createCell(actor.uan, actor.behavior, actor.state);
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
    for (const cell of created) {
      this.cells.set(cell.uan, cell);
      this.forwarding.delete(cell.uan);
      this.directoryCache.delete(cell.uan);
      this.noteProgress(cell);
      this.markRunnable(cell);
    }
    this.retryParked(created.map((cell) => cell.uan));
    this.log("info", "actors restored", { count: created.length, seqBase: request.seqBase });
    return {
      actors: created.map((cell) => ({ uan: cell.uan, behavior: cell.behaviorName, stateBytes: serialize(cell.state).length })),
    };
  }

  /** Drops actors (an application about to be restored from a checkpoint) and what waits for them here. */
  private discard(uans: string[]): { discarded: number } {
    let discarded = 0;
    for (const uan of uans) {
      const cell = this.cells.get(uan);
      this.parked.delete(uan);
      this.forwarding.delete(uan);
      this.directoryCache.delete(uan);
      if (!cell) continue;
      for (const timer of cell.timers.values()) clearTimeout(timer.timeout);
      cell.timers.clear();
      this.relieve(cell);
      this.cells.delete(uan);
      this.runQueue.delete(cell);
      this.progressDirty.delete(uan);
      discarded++;
    }
    this.log("info", "actors discarded", { count: discarded });
    return { discarded };
  }

  // ── Scheduling ──────────────────────────────────────────────────────────────────────────────

  private enqueue(cell: ActorCell, entry: MailboxEntry): void {
    cell.mailbox.push(entry);
    this.markRunnable(cell);
  }

  /**
   * Puts a delivered message in the actor's mailbox in per-sender sequence order: one that comes
   * early (it overtook a forwarded one) waits for the gap to fill; one already delivered is dropped.
   */
  private accept(cell: ActorCell, message: DeliverMessage, via?: Channel): void {
    this.acceptInOrder(cell, message);
    const length = cell.mailbox.length;
    if (length > this.counters.mailboxHighWater) this.counters.mailboxHighWater = length;
    // A full actor must run to drain, even if it is itself waiting on another: no cycle can freeze.
    if (cell.throttled && length >= this.mailboxLimit) this.unthrottle(cell);
    if (via && length >= this.mailboxLimit && !cell.held && !cell.outgoing && !cell.pausedChannels.has(via)) {
      via.socket.pause();
      cell.pausedChannels.add(via);
    }
  }

  private get mailboxLimit(): number {
    return this.options.mailboxLimit ?? DEFAULT_MAILBOX_LIMIT;
  }

  /** After `sender` sent to `to`: pause it if the receiver's mailbox, or the link to it, is full. */
  private applyBackpressure(sender: ActorCell, to: string): void {
    if (sender.mailbox.length >= this.mailboxLimit) return; // see accept: a full actor keeps running
    const receiver = this.cells.get(to);
    if (receiver) {
      if (receiver !== sender && !receiver.incoming && receiver.mailbox.length >= this.mailboxLimit) {
        sender.throttled = true;
        receiver.waitingSenders.add(sender);
        this.counters.throttled++;
      }
      return;
    }
    const address = this.forwarding.get(to) ?? this.directoryCache.get(to);
    const link = address ? this.links.get(address) : undefined;
    if (!link || link.pendingBytes <= LINK_HIGH_WATER_BYTES || sender.throttled) return;
    sender.throttled = true;
    this.counters.throttled++;
    link.onDrained(() => this.unthrottle(sender));
  }

  private unthrottle(cell: ActorCell): void {
    if (!cell.throttled) return;
    cell.throttled = false;
    this.markRunnable(cell);
  }

  /** The mailbox drained (or the actor left, or holds): let its senders and peers go on. */
  private relieve(cell: ActorCell): void {
    for (const sender of cell.waitingSenders) this.unthrottle(sender);
    cell.waitingSenders.clear();
    this.resumeChannels(cell);
  }

  private resumeChannels(cell: ActorCell): void {
    for (const channel of cell.pausedChannels) {
      // Another full mailbox may still want this peer paused.
      const stillWanted = [...this.cells.values()].some((other) => other !== cell && other.pausedChannels.has(channel));
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
    const expected = cell.recvNext.get(from) ?? cell.seqBase + 1;
    if (message.seq < expected) {
      this.counters.duplicates++;
      return;
    }
    if (message.seq > expected) {
      let waiting = cell.reorder.get(from);
      if (!waiting) cell.reorder.set(from, (waiting = new Map()));
      if (waiting.has(message.seq)) this.counters.duplicates++;
      else {
        waiting.set(message.seq, { from, body: message.body });
        this.counters.reordered++;
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

  private markRunnable(cell: ActorCell): void {
    if (this.crashed || cell.held || cell.throttled || cell.outgoing || cell.incoming || cell.mailbox.length === 0) return;
    this.runQueue.add(cell);
    if (!this.drainScheduled) {
      this.drainScheduled = true;
      setImmediate(() => this.drain());
    }
  }

  /** Runs mailboxes round-robin, one message per actor per pass, yielding to I/O every few ms. */
  private drain(): void {
    this.drainScheduled = false;
    const deadline = performance.now() + DRAIN_TURN_MS;
    while (this.runQueue.size > 0 && performance.now() < deadline) {
      for (const cell of [...this.runQueue]) {
        this.runQueue.delete(cell);
        if (this.cells.get(cell.uan) !== cell || cell.held || cell.throttled || cell.outgoing || cell.incoming) continue;
        const entry = cell.mailbox.shift();
        if ((cell.waitingSenders.size > 0 || cell.pausedChannels.size > 0) && cell.mailbox.length <= this.mailboxLimit / 2)
          this.relieve(cell);
        if (!entry) continue;
        this.runHandler(cell, entry);
        this.noteProgress(cell);
        if (cell.holdRequested) this.tryHold(cell);
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
      this.counters.delivered++;
    } catch (error) {
      // The actor keeps its previous state; one bad message must not take the theater down.
      this.log("error", "actor handler threw", { actor: cell.uan, error: (error as Error).stack ?? String(error) });
    }
    profile.handled++;
    profile.busyMs += performance.now() - startedAt;
  }

  private profile(): ProfileReply {
    const actors: ActorProfile[] = [];
    for (const cell of this.cells.values()) {
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

  private noteProgress(cell: ActorCell): void {
    const progress = cell.behavior.progress?.(cell.state);
    if (progress === undefined || progress === cell.reportedProgress) return;
    cell.reportedProgress = progress;
    this.progressDirty.set(cell.uan, progress);
    this.activity.mark();
  }

  private flushProgress(): void {
    if (this.progressDirty.size === 0 || !this.mediatorChannel) return;
    const items = [...this.progressDirty].map(([uan, iteration]) => ({ uan, iteration }));
    this.progressDirty.clear();
    this.mediatorChannel.send({ type: "progress", items });
  }

  // ── Routing ─────────────────────────────────────────────────────────────────────────────────

  /**
   * Delivers locally, forwards along a pointer or the directory, or asks the Mediator. Never drops.
   * `via` is the peer that delivered to this stale locator: it is told where the actor went.
   */
  private route(message: DeliverMessage, via?: Channel): void {
    if (this.crashed) return;
    const cell = this.cells.get(message.to);
    if (cell && !cell.incoming) {
      this.accept(cell, message, via);
      return;
    }
    if (message.hops >= MAX_FORWARD_HOPS) {
      this.log("warn", "forwarding hop limit reached; asking the mediator", { to: message.to, hops: message.hops });
      this.forwarding.delete(message.to);
      this.directoryCache.delete(message.to);
      this.resolveThenRoute({ ...message, hops: 0 });
      return;
    }
    const pointer = this.forwarding.get(message.to);
    const next = pointer ?? this.directoryCache.get(message.to);
    if (next && next !== this.advertisedAddress && !this.isUnreachable(next)) {
      if (pointer) this.counters.forwarded++;
      if (via && message.from !== null) via.send({ type: "moved", uan: message.to, address: next });
      this.sendToTheater(next, { ...message, hops: message.hops + 1 });
      return;
    }
    this.resolveThenRoute(message);
  }

  private resolveThenRoute(message: DeliverMessage): void {
    const waiting = this.resolving.get(message.to);
    if (waiting) {
      waiting.push(message);
      return;
    }
    const channel = this.mediatorChannel;
    if (!channel) {
      this.park([message]);
      return;
    }
    this.resolving.set(message.to, [message]);
    const settle = (address: string | null) => {
      const batch = this.resolving.get(message.to) ?? [];
      this.resolving.delete(message.to);
      if (this.cells.get(message.to)?.incoming === null) {
        for (const pending of batch) this.route(pending); // it arrived here meanwhile
      } else if (address && address !== this.advertisedAddress && !this.isUnreachable(address)) {
        this.directoryCache.set(message.to, address);
        for (const pending of batch) this.sendToTheater(address, { ...pending, hops: pending.hops + 1 });
      } else {
        this.park(batch);
      }
    };
    channel.request<ResolveReply>({ type: "resolve", uan: message.to }, MEDIATOR_REQUEST_TIMEOUT_MS).then(
      (reply) => settle(reply.address),
      () => settle(null),
    );
  }

  private park(messages: DeliverMessage[]): void {
    if (messages.length === 0) return;
    const uan = messages[0]!.to;
    const parked = this.parked.get(uan);
    if (parked) parked.push(...messages);
    else {
      this.parked.set(uan, [...messages]);
      this.log("warn", "no reachable location for actor yet; holding its messages", { to: uan });
    }
    if (!this.parkedRetryTimer) {
      this.parkedRetryTimer = setTimeout(() => {
        this.parkedRetryTimer = null;
        this.retryParked();
      }, PARKED_RETRY_MS);
      this.parkedRetryTimer.unref();
    }
  }

  private retryParked(onlyUans?: Iterable<string>): void {
    const uans = onlyUans ? [...onlyUans].filter((uan) => this.parked.has(uan)) : [...this.parked.keys()];
    for (const uan of uans) {
      const messages = this.parked.get(uan) ?? [];
      this.parked.delete(uan);
      for (const message of messages) this.route(message);
    }
  }

  private isUnreachable(address: string): boolean {
    const until = this.unreachableUntil.get(address);
    if (until === undefined) return false;
    if (Date.now() < until) return true;
    this.unreachableUntil.delete(address);
    return false;
  }

  private markUnreachable(address: string): void {
    this.unreachableUntil.set(address, Date.now() + PARKED_RETRY_MS);
    for (const [uan, cached] of this.directoryCache) if (cached === address) this.directoryCache.delete(uan);
  }

  private sendToTheater(address: string, message: DeliverMessage): void {
    const link = this.linkTo(address);
    if (!link.send(message)) this.rerouteUnsent(address, [message]);
  }

  private rerouteUnsent(address: string, bodies: unknown[]): void {
    this.markUnreachable(address);
    for (const body of bodies) {
      if (bodyType(body) !== "deliver") continue;
      const message = body as DeliverMessage;
      if (this.forwarding.get(message.to) === address) this.forwarding.delete(message.to);
      this.resolveThenRoute(message);
    }
  }

  private linkTo(address: string): PeerLink {
    const existing = this.links.get(address);
    if (existing && !existing.isDead) return existing;
    const link: PeerLink = new PeerLink(
      address,
      this.peerKey ? { key: this.peerKey, self: { vmId: this.vmId, address: this.advertisedAddress } } : null,
      { onMessage: (body, channel) => this.handleLinkMessage(link, body, channel) },
      (_deadLink, unsent, reason) => {
        if (unsent.length > 0)
          this.log("warn", "peer unreachable; rerouting", { peer: address, reason, messages: unsent.length });
        this.rerouteUnsent(address, unsent);
      },
      (closedLink) => {
        if (this.links.get(address) === closedLink) this.links.delete(address);
      },
    );
    this.links.set(address, link);
    return link;
  }

  private handleLinkMessage(link: PeerLink, body: unknown, channel: Channel): void {
    if (bodyType(body) === "moved") {
      // We delivered to a stale locator: correct the cache so the next message goes straight there.
      const { uan, address } = body as MovedMessage;
      if (address !== this.advertisedAddress && !this.cells.has(uan)) this.directoryCache.set(uan, address);
      return;
    }
    if (bodyType(body) !== "goodbye") return;
    // The peer is stopping: never use this link again, and confirm on it (behind everything we sent).
    if (this.links.get(link.address) === link) this.links.delete(link.address);
    this.markUnreachable(link.address);
    channel.send({ type: "goodbye-ack" });
    void channel.end("peer said goodbye");
  }

  private applyDirectory(entries: DirectoryEntry[]): void {
    for (const { uan, address } of entries) {
      if (address === null || address === this.advertisedAddress) {
        this.directoryCache.delete(uan);
        if (address === null) this.forwarding.delete(uan);
        continue;
      }
      this.directoryCache.set(uan, address);
      // Shorten chains: a pointer to an intermediate theater (which may stop) now points at the actor.
      if (this.forwarding.has(uan)) this.forwarding.set(uan, address);
    }
    this.retryParked(entries.map((entry) => entry.uan));
  }

  // ── Peers that connect to us ────────────────────────────────────────────────────────────────

  /** A peer link that sent something malformed: closed and logged (the theater carries on). */
  private dropPeerLink(channel: Channel, reason: string): void {
    this.log("warn", "peer link closed: bad input", { remote: channel.remote, reason });
    channel.destroy(`bad input: ${reason}`);
  }

  /** A peer that dialed us: nothing it sends is taken before it proved the cluster peer key. */
  private acceptPeer(socket: Socket): void {
    // A capped number of links may wait for their handshake, in all and per remote address.
    const from = socket.remoteAddress ?? "?";
    let fromAddress = 0;
    for (const waiting of this.handshaking) if (waiting.socket.remoteAddress === from) fromAddress++;
    if (this.handshaking.size >= MAX_HANDSHAKING_PEER_LINKS || fromAddress >= MAX_HANDSHAKING_PER_ADDRESS) {
      socket.destroy();
      this.peerLinksRefusedAtCap++;
      if (this.peerLinksRefusedAtCap % 100 === 1)
        this.log("warn", "peer link refused: too many links waiting for the handshake", {
          remote: from,
          waiting: this.handshaking.size,
          fromAddress,
          refusedSoFar: this.peerLinksRefusedAtCap,
        });
      return;
    }
    const channel = new Channel(socket);
    if (this.stopping) {
      channel.destroy("theater is stopping");
      return;
    }
    this.handshaking.add(channel);
    void channel.closed.then((reason) => {
      // Still here: it closed, or was cut off (e.g. an oversized frame), before any verdict.
      if (this.handshaking.delete(channel) && !this.stopping)
        this.log("warn", "peer link closed during the handshake", { remote: channel.remote, reason });
    });
    acceptPeer(channel, {
      key: this.peerKey,
      onRefused: (reason, claimed) => {
        this.handshaking.delete(channel);
        this.log("warn", "peer link refused", {
          remote: channel.remote,
          claimedVm: claimed.vmId,
          claimedAddress: claimed.address,
          reason,
        });
      },
      onAuthenticated: () => {
        this.handshaking.delete(channel);
        this.incoming.add(channel);
        return {
          onMessage: (body, self) => {
            const type = bodyType(body);
            if (type === "deliver") {
              const deliver = checkDeliver(body);
              if (deliver.ok) this.route(deliver.value, self);
              else this.dropPeerLink(self, deliver.error);
            } else if (type === "goodbye-ack") this.goodbyeWaiters.get(self)?.();
            else this.dropPeerLink(self, `unknown message ${JSON.stringify(type?.slice(0, 100) ?? "untyped")}`);
          },
          onRequest: (body, self, payload): unknown => {
            const type = bodyType(body);
            if (type === "migrate-in") return this.migrateIn(body as MigrateInRequest, self, payload);
            if (type === "migrate-commit") return this.commitMigrateIn(body as MigrateCommitRequest, self);
            if (type === "migrate-abort") return this.discardIncoming((cell) => cell.incoming?.channel === self);
            throw new Error(`unknown peer request ${JSON.stringify(type)}`);
          },
          onClose: () => {
            this.incoming.delete(channel);
            this.goodbyeWaiters.get(channel)?.();
            this.incomingLinkDropped(channel);
          },
        };
      },
    });
  }

  // ── Migration ───────────────────────────────────────────────────────────────────────────────

  /**
   * Source side. Holds the actors, streams state, mailbox and delivery-order state in pipelined
   * batches, and only after the target acknowledged the whole transfer and the commit deletes
   * them here and leaves forwarding pointers. On a failure before the commit the actors stay
   * here, held, with every message that arrived meanwhile. When the commit's answer is lost the
   * outcome is in doubt: the actors wait (not running, arrivals buffered) for `migrate-finish`.
   */
  private async migrateOut(request: MigrateOutRequest): Promise<MigrateOutReply> {
    if (this.stopping) throw new Error("theater is stopping");
    if (request.targetAddress === this.advertisedAddress) throw new Error("cannot migrate to the same theater");
    const cells = request.uans.map((uan) => {
      const cell = this.cells.get(uan);
      if (!cell || cell.incoming) throw new Error(`${uan} does not live on ${this.vmId}`);
      if (cell.outgoing) throw new Error(`${uan} is already migrating`);
      return cell;
    });
    // The link to the target is made before anything is held, so no actor waits on a connect
    // and a target that cannot be reached holds nobody.
    const link = this.linkTo(request.targetAddress);
    await link.connected;
    for (const cell of cells) {
      if (this.cells.get(cell.uan) !== cell || cell.outgoing) throw new Error(`${cell.uan} moved while connecting to the target`);
    }
    for (const cell of cells) {
      cell.holdRequested = true;
      if (!this.tryHold(cell)) this.markRunnable(cell);
    }
    await this.waitUntilHeld(cells, HOLD_FOR_MIGRATION_TIMEOUT_MS);
    if (this.crashed) return new Promise(() => {});

    const records: MigratedActor[] = [];
    for (const cell of cells) {
      // Pending self-messages travel in the mailbox; the target delivers them on resume.
      for (const timer of cell.timers.values()) {
        clearTimeout(timer.timeout);
        cell.mailbox.push({ kind: "message", from: cell.uan, body: timer.body });
      }
      cell.timers.clear();
      cell.outgoing = { arrivals: [], target: request.targetAddress };
      records.push({
        uan: cell.uan,
        behavior: cell.behaviorName,
        state: cell.state,
        mailbox: cell.mailbox,
        sendSeq: cell.sendSeq,
        recvNext: cell.recvNext,
        reorder: cell.reorder,
        seqBase: cell.seqBase,
        profile: cell.profile,
      });
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
      const batchLimit = this.options.migrationBatchBytes ?? MIGRATION_BATCH_BYTES;
      let batch: EncodedActor[] = [];
      let batchBytes = 0;
      const send = (last: boolean) => {
        const index = batches++;
        const body: MigrateInRequest = { type: "migrate-in", transfer, last };
        const reply = channel.request(body, request.timeoutMs, encodeMigrationBatch(batch));
        reply.catch(() => {}); // judged below, once all are sent; until then not an unhandled rejection
        replies.push(reply);
        this.options.faults?.afterMigrationBatchSent?.(index, () => link.destroy("fault injected: link dropped"));
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
      this.options.faults?.afterMigrationAcknowledged?.();
      if (this.crashed) return new Promise(() => {});
      phase = "committing";
      await channel.request(
        { type: "migrate-commit", uans, resume: request.resumeOnArrival === true } satisfies MigrateCommitRequest,
        request.timeoutMs,
      );
    } catch (error) {
      if (this.crashed) return new Promise(() => {});
      if (phase === "committing") {
        this.log("warn", "migration commit unanswered; outcome in doubt until the mediator settles it", {
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
      if (request.resumeOnArrival) this.resume(uans);
      this.log(
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
    this.log("info", "actors migrated out", {
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
    this.relieve(cell);
    const arrivals = cell.outgoing?.arrivals ?? [];
    cell.outgoing = null;
    for (const message of arrivals) this.accept(cell, message);
  }

  /** The target owns the actor now: leave a forwarding pointer and pass on what arrived meanwhile. */
  private releaseOutgoing(cell: ActorCell): void {
    this.relieve(cell);
    const target = cell.outgoing!.target;
    this.cells.delete(cell.uan);
    this.runQueue.delete(cell);
    this.progressDirty.delete(cell.uan);
    this.forwarding.set(cell.uan, target);
    this.directoryCache.set(cell.uan, target);
    // Same link as the state (when it still stands), so these arrive after the actor is installed;
    // if they do not, their sequence numbers put them back in order there.
    for (const message of cell.outgoing!.arrivals) {
      this.counters.forwarded++;
      this.sendToTheater(target, { ...message, hops: message.hops + 1 });
    }
    cell.outgoing = null;
    this.counters.migratedOut++;
  }

  /** Source side, after an in-doubt commit: the Mediator asked the target which ones it committed. */
  private finishInDoubt(request: MigrateFinishRequest): void {
    const committed = new Set(request.committed);
    let released = 0;
    for (const uan of request.uans) {
      const cell = this.cells.get(uan);
      if (!cell?.outgoing) continue;
      if (committed.has(uan)) {
        this.releaseOutgoing(cell);
        released++;
      } else this.restoreOutgoing(cell);
    }
    this.log("info", "in-doubt migration settled", { released, kept: request.uans.length - released });
  }

  private waitUntilHeld(cells: ActorCell[], timeoutMs: number): Promise<void> {
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

  /** Target side, phase one, batch by batch: install held and uncommitted; the last reply acknowledges. */
  private migrateIn(request: MigrateInRequest, channel: Channel, payload: ChunkedBytes | undefined): Record<string, never> {
    if (this.stopping) throw new Error("theater is stopping");
    if (!payload) throw new Error("migrate-in without its batch");
    const migrated = decodeMigrationBatch(payload);
    for (const actor of migrated) {
      if (!this.options.behaviors[actor.behavior]) throw new Error(`unknown behavior "${actor.behavior}" for ${actor.uan}`);
      const existing = this.cells.get(actor.uan);
      // An in-doubt copy from an earlier, failed attempt is stale once the source sends the actor again.
      if (existing && !(existing.incoming && existing.incoming.channel !== channel))
        throw new Error(`${actor.uan} already lives on ${this.vmId}`);
    }
    for (const actor of migrated) {
      const cell = this.createCell(actor.uan, actor.behavior, actor.state);
      cell.mailbox = actor.mailbox;
      cell.sendSeq = actor.sendSeq;
      cell.recvNext = actor.recvNext;
      cell.reorder = actor.reorder;
      cell.seqBase = actor.seqBase ?? 0;
      cell.profile = actor.profile;
      cell.holdRequested = true;
      cell.held = true;
      cell.incoming = { channel, transfer: request.transfer, acknowledged: false };
      this.cells.set(cell.uan, cell);
    }
    const batchIndex = this.incomingBatches.get(channel) ?? 0;
    this.incomingBatches.set(channel, request.last ? 0 : batchIndex + 1);
    this.options.faults?.afterMigrationBatchReceived?.(batchIndex);
    if (request.last) {
      this.options.faults?.beforeMigrationAck?.();
      for (const cell of this.cells.values())
        if (cell.incoming?.channel === channel && cell.incoming.transfer === request.transfer) cell.incoming.acknowledged = true;
    }
    return {};
  }

  /** Target side, phase two: the source has let go; the actors are ours (still held until resumed). */
  private commitMigrateIn(request: MigrateCommitRequest, channel: Channel): Record<string, never> {
    const { uans } = request;
    for (const uan of uans) {
      const cell = this.cells.get(uan);
      if (!cell?.incoming || cell.incoming.channel !== channel || !cell.incoming.acknowledged)
        throw new Error(`no acknowledged migration of ${uan} on this link`);
    }
    this.adopt(uans);
    // Live transfer: the actor runs here before the source hears the commit succeeded.
    if (request.resume) this.resume(uans);
    return {};
  }

  private adopt(uans: string[]): void {
    for (const uan of uans) {
      const cell = this.cells.get(uan)!;
      cell.incoming = null;
      this.forwarding.delete(uan);
      this.directoryCache.delete(uan);
      cell.reportedProgress = undefined;
      this.noteProgress(cell);
    }
    this.counters.migratedIn += uans.length;
    this.log("info", "actors migrated in", { actors: uans.length });
    this.retryParked(uans);
  }

  /**
   * The source's link dropped. A transfer not yet acknowledged cannot have been committed: the
   * source keeps the actors, so discard. An acknowledged one is in doubt (the source may have
   * died holding the only other copy): keep it, held and invisible, until the Mediator settles it.
   */
  private incomingLinkDropped(channel: Channel): void {
    this.incomingBatches.delete(channel);
    this.discardIncoming((cell) => cell.incoming?.channel === channel && !cell.incoming.acknowledged);
    let inDoubt = 0;
    for (const cell of this.cells.values()) {
      if (cell.incoming?.channel !== channel) continue;
      cell.incoming.channel = null;
      inDoubt++;
    }
    if (inDoubt > 0) this.log("warn", "source dropped the link after our acknowledgement; in doubt", { actors: inDoubt });
  }

  private discardIncoming(matches: (cell: ActorCell) => boolean): Record<string, never> {
    const discarded: string[] = [];
    for (const cell of [...this.cells.values()]) {
      if (!cell.incoming || !matches(cell)) continue;
      this.cells.delete(cell.uan);
      discarded.push(cell.uan);
    }
    if (discarded.length > 0)
      this.log("warn", "uncommitted migration discarded; the source keeps the actors", { actors: discarded.length });
    return {};
  }

  /** Mediator's verdict on a failed migration, for the actors that were sent here. */
  private settleIncoming(request: MigrateSettleRequest): MigrateSettleReply {
    const reply: MigrateSettleReply = { committed: [], adopted: [], discarded: [] };
    for (const uan of request.uans) {
      const cell = this.cells.get(uan);
      if (!cell) continue;
      if (!cell.incoming) reply.committed.push(uan);
      else if (!request.sourceAlive && cell.incoming.acknowledged && cell.incoming.channel === null) reply.adopted.push(uan);
      else if (request.sourceAlive || !cell.incoming.acknowledged) reply.discarded.push(uan);
    }
    const discard = new Set(reply.discarded);
    this.discardIncoming((cell) => discard.has(cell.uan));
    if (reply.adopted.length > 0) {
      this.log("warn", "adopting acknowledged actors whose source is gone", { actors: reply.adopted.length });
      this.adopt(reply.adopted);
    }
    return reply;
  }

  // ── Stopping ────────────────────────────────────────────────────────────────────────────────

  private async drainForStop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    if (this.cells.size > 0) this.log("warn", "stopping with actors still hosted", { actors: this.cells.size });
    for (const cell of this.cells.values()) this.relieve(cell);
    // Stop accepting peers; close()'s callback would wait for every open connection, so don't await it.
    this.server?.close();
    // Peers confirm on the same connection they delivered on, so after the acks nothing is in flight to us.
    await Promise.all([...this.incoming].map((channel) => this.sayGoodbye(channel)));
    await this.waitFor(() => this.resolving.size === 0 && this.parked.size === 0, STOP_STEP_TIMEOUT_MS);
    if (this.parked.size > 0) this.log("error", "stopping with undeliverable messages", { actors: [...this.parked.keys()] });
    this.flushProgress();
    await Promise.all([...this.links.values()].map((link) => withTimeout(link.end(), STOP_STEP_TIMEOUT_MS)));
  }

  private sayGoodbye(channel: Channel): Promise<void> {
    return withTimeout(
      new Promise<void>((resolve) => {
        this.goodbyeWaiters.set(channel, resolve);
        if (!channel.send({ type: "goodbye" })) resolve();
      }),
      STOP_STEP_TIMEOUT_MS,
    ).finally(() => this.goodbyeWaiters.delete(channel));
  }

  private async waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition() && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      if (this.parked.size > 0) this.retryParked();
    }
  }

  private async finishStop(mediatorChannel: Channel | null = this.mediatorChannel): Promise<void> {
    if (this.progressTimer) clearInterval(this.progressTimer);
    if (this.parkedRetryTimer) clearTimeout(this.parkedRetryTimer);
    this.endReconnectPause();
    for (const cell of this.cells.values()) for (const timer of cell.timers.values()) clearTimeout(timer.timeout);
    for (const channel of this.handshaking) channel.destroy("theater stopped");
    for (const channel of this.incoming) channel.destroy("theater stopped");
    if (mediatorChannel) await withTimeout(mediatorChannel.end("theater stopped"), STOP_STEP_TIMEOUT_MS);
    this.mediatorChannel = null;
    this.log("info", "theater stopped", { ...this.stats });
    this.resolveStopped();
  }
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(undefined), timeoutMs);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      () => {
        clearTimeout(timer);
        resolve(undefined);
      },
    );
  });
}
