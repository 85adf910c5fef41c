import type { Socket } from "node:net";
import { ActivityLog } from "./activity-log";
import type { ActorCell } from "./actor-cells";
import { Channel, RemoteError } from "./channel";
import {
  connectTls,
  isUnknownIdentityAlert,
  isWrongKeyAlert,
  mediatorLinkIdentity,
  mediatorLinkKey,
  secretDigest,
} from "./link-tls";
import { parseAddress, parseAddressList } from "./names";
import { MIN_PEER_KEY_BYTES } from "./peer-auth";
import {
  REGISTRATION_REFUSED_PREFIX,
  bodyType,
  type ActivityReply,
  type ActivityRequest,
  type ActorSpec,
  type AdmitReply,
  type CutRequest,
  type DeliverMessage,
  type DirectoryEntry,
  type MigrateFinishRequest,
  type MigrateOutRequest,
  type MigrateSettleRequest,
  type RegisterReply,
  type RestoreRequest,
  type SnapshotFetchRequest,
} from "./protocol";
import type { TheaterRuntime } from "./theater-runtime";

const MEDIATOR_REQUEST_TIMEOUT_MS = 10_000;
/** A Mediator host that does not answer a connection attempt (gone from the network) is skipped after this. */
const MEDIATOR_CONNECT_TIMEOUT_MS = 5_000;
const RECONNECT_FIRST_DELAY_MS = 100;
const RECONNECT_MAX_DELAY_MS = 2_000;

export class TheaterRefusedError extends Error {}

/** What the theater does when the Mediator asks it to stop (see Theater). */
export interface StopHandlers {
  drainForStop(): Promise<void>;
  finishStop(mediatorChannel: Channel | null): Promise<void>;
}

/**
 * The theater's side of the Mediator link: admission and registration, failover across the
 * Mediator list with a backoff, the requests the Mediator sends (dispatched to the parts that
 * answer them), and the progress and `held` reports going the other way.
 */
export class MediatorClient {
  /** The registered connection; null while there is none. */
  channel: Channel | null = null;
  /** Where to look for a Mediator, in order; replaced by a Mediator's registration reply. */
  private mediators: string[];
  /** The Mediator we registered with last (tried first after a loss: it may just have restarted). */
  lastMediator: string | null = null;
  /** The cluster peer key, from the Mediator that admitted us; null until then (no peer is accepted). */
  peerKey: Buffer | null = null;
  /** The VM secret this theater proves (the boot secret until a Mediator issues another). */
  private secret: string;
  private reconnecting = false;
  /** The pause between two rounds of the Mediator list; stopping cuts it short. */
  private reconnectPause: { timer: NodeJS.Timeout; wake: () => void } | null = null;
  private readonly progressDirty = new Map<string, number>();
  readonly activity = new ActivityLog();
  private progressTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly rt: TheaterRuntime,
    private readonly stopHandlers: StopHandlers,
  ) {
    const { mediator } = rt.options;
    this.secret = rt.options.secret;
    this.mediators = typeof mediator === "string" ? parseAddressList(mediator) : [...mediator];
    if (this.mediators.length === 0) throw new Error("a theater needs at least one Mediator address");
    for (const address of this.mediators) parseAddress(address);
  }

  /** The Mediator addresses this theater would try now, in order. */
  get addresses(): string[] {
    return [...this.mediators];
  }

  /** Sends a message on the registered connection, if there is one. */
  send(body: unknown): void {
    this.channel?.send(body);
  }

  /**
   * Tries the Mediator list in turn, starting with the one we last registered with, until one
   * accepts; between rounds waits a delay that doubles up to a cap. A guest may boot before any
   * Mediator listens, and after a loss another worker's Mediator may take over. Refused by every
   * Mediator of a round: TheaterRefusedError. Out of time (`deadline`): the last error.
   */
  async registerAnywhere(deadline: number | null): Promise<void> {
    let delayMs = this.rt.options.reconnectDelayMs ?? RECONNECT_FIRST_DELAY_MS;
    const maxDelayMs = Math.max(delayMs, this.rt.options.reconnectMaxDelayMs ?? RECONNECT_MAX_DELAY_MS);
    for (let round = 1; ; round++) {
      const start = this.lastMediator ? Math.max(0, this.mediators.indexOf(this.lastMediator)) : 0;
      const order = [...this.mediators.slice(start), ...this.mediators.slice(0, start)];
      const refusals: string[] = [];
      let lastError: Error | undefined;
      for (const address of order) {
        if (this.rt.stopping) throw new Error("theater is stopping");
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
        this.rt.log("warn", "mediator not reachable yet; retrying", { mediators: order, error: lastError?.message, refusals });
      await new Promise<void>((wake) => (this.reconnectPause = { timer: setTimeout(wake, delayMs), wake }));
      this.reconnectPause = null;
      delayMs = Math.min(delayMs * 2, maxDelayMs);
    }
  }

  endReconnectPause(): void {
    if (!this.reconnectPause) return;
    clearTimeout(this.reconnectPause.timer);
    this.reconnectPause.wake();
  }

  private async connectToMediator(address: string): Promise<void> {
    const rt = this.rt;
    const { host, port } = parseAddress(address);
    const digest = secretDigest(this.secret);
    const socket = await new Promise<Socket>((resolve, reject) => {
      // TLS with a key derived from the secret: the Mediator knows which VM (and which of its
      // secrets) before anything else, and nothing travels in clear.
      const candidate = connectTls({
        host,
        port,
        identity: mediatorLinkIdentity(rt.vmId, digest),
        key: mediatorLinkKey(rt.vmId, digest),
      });
      const timer = setTimeout(() => {
        candidate.destroy();
        reject(new Error(`mediator ${address} did not answer within ${MEDIATOR_CONNECT_TIMEOUT_MS} ms`));
      }, MEDIATOR_CONNECT_TIMEOUT_MS);
      candidate.once("error", (error) => {
        clearTimeout(timer);
        // The Mediator's TLS alert is its refusal: it expects no theater for this VM, or not with this secret.
        if (isUnknownIdentityAlert(error)) reject(new TheaterRefusedError(`no theater is expected for VM ${rt.vmId}`));
        else if (isWrongKeyAlert(error)) reject(new TheaterRefusedError(`wrong secret for VM ${rt.vmId}`));
        else reject(error);
      });
      candidate.once("secureConnect", () => {
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
        { type: "admit", vmId: rt.vmId, secret: this.secret, address: rt.advertisedAddress, pid: process.pid },
        MEDIATOR_REQUEST_TIMEOUT_MS,
      );
      reply = await channel.request<RegisterReply>(
        {
          type: "register",
          vmId: rt.vmId,
          secret: this.secret,
          address: rt.advertisedAddress,
          pid: process.pid,
          actors: rt.cells.hostedActors(),
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
    if (rt.stopping) {
      channel.destroy("theater is stopping");
      throw new Error("theater is stopping");
    }
    this.channel = channel;
    this.lastMediator = address;
    this.adoptRegisterReply(reply, address);
    if (typeof reply?.secret === "string" && reply.secret.length >= 16 && reply.secret.length <= 200) {
      // One-time secrets: the one we registered with is spent; confirm we hold the new one.
      this.secret = reply.secret;
      channel.request({ type: "secret-adopted" }, MEDIATOR_REQUEST_TIMEOUT_MS).catch((error: Error) =>
        rt.log("warn", "could not confirm the new secret; the Mediator accepts the old one until it is confirmed", {
          mediator: address,
          error: error.message,
        }),
      );
    }
    rt.routing.retryParked();
  }

  /** What the admitting Mediator hands over: the cluster peer key and, optionally, a new Mediator list. */
  private adoptRegisterReply(reply: RegisterReply, from: string): void {
    const key = reply?.peerKey;
    if (key instanceof Uint8Array && key.length >= MIN_PEER_KEY_BYTES) {
      const fresh = Buffer.from(key);
      if (this.peerKey && !this.peerKey.equals(fresh))
        this.rt.log("warn", "the cluster peer key changed; new peer links use the new one", { mediator: from });
      this.peerKey = fresh;
    } else {
      this.rt.log("error", "the mediator sent no usable peer key; peers cannot link to this theater", { mediator: from });
    }
    const list = reply?.mediators;
    if (list === undefined) return;
    let parsed: string[] = [];
    try {
      if (!Array.isArray(list) || list.some((entry) => typeof entry !== "string")) throw new Error("not a list of strings");
      parsed = parseAddressList(list.join(","));
    } catch (error) {
      this.rt.log("warn", "ignoring a malformed mediator list", { mediator: from, error: (error as Error).message });
      return;
    }
    if (parsed.length === 0 || parsed.join(",") === this.mediators.join(",")) return;
    this.mediators = parsed;
    this.rt.log("info", "mediator list updated", { mediators: parsed });
  }

  private handleMediatorClosed(channel: Channel, reason: string): void {
    if (this.channel !== channel) return; // a refused or superseded attempt
    this.channel = null;
    if (this.rt.stopping) return;
    this.rt.log("warn", "lost the mediator; reconnecting", { reason, mediator: this.lastMediator, mediators: this.mediators });
    void this.reconnect();
  }

  private async reconnect(): Promise<void> {
    const rt = this.rt;
    if (this.reconnecting || rt.stopping) return;
    this.reconnecting = true;
    try {
      await this.registerAnywhere(null);
    } catch (error) {
      if (rt.stopping) return;
      rt.log("error", "re-registration refused", { reason: (error as Error).message });
      rt.options.onFatal?.(`registration refused: ${(error as Error).message}`);
      return;
    } finally {
      this.reconnecting = false;
    }
    rt.log("info", "re-registered with the mediator", { mediator: this.lastMediator, actors: rt.cells.byUan.size });
    // A restarted (or another) Mediator knows no progress yet: report every actor's again, finished ones too.
    for (const cell of rt.cells.byUan.values()) {
      cell.reportedProgress = undefined;
      this.noteProgress(cell);
    }
  }

  private handleMediatorMessage(body: unknown): void {
    if (bodyType(body) === "deliver") this.rt.routing.route(body as DeliverMessage);
  }

  private async handleMediatorRequest(body: unknown, channel: Channel): Promise<unknown> {
    const { cells, migration, checkpoints, routing, bundles } = this.rt;
    const request = body as { type: string } & Record<string, unknown>;
    switch (bodyType(body)) {
      case "spawn":
        // A bundle application's first actors here: its behaviors are fetched and imported first.
        await bundles.ensure(request.specs as ActorSpec[], channel);
        return cells.spawn(request.specs as ActorSpec[]);
      case "prepare":
        return cells.prepare(request.uans as string[]);
      case "resume":
        cells.resume(request.uans as string[] | "all");
        return {};
      case "migrate-out":
        return migration.migrateOut(body as MigrateOutRequest);
      case "migrate-settle":
        return migration.settleIncoming(body as MigrateSettleRequest);
      case "migrate-finish":
        migration.finishInDoubt(body as MigrateFinishRequest);
        return {};
      case "profile":
        return cells.profile();
      case "message-counts":
        return cells.messageCounts();
      case "directory":
        routing.applyDirectory(request.entries as DirectoryEntry[]);
        return {};
      case "collect":
        return cells.collect(request.uans as string[]);
      case "activity": {
        const { fromMs, toMs } = body as ActivityRequest;
        return this.activity.window(fromMs, toMs) satisfies ActivityReply;
      }
      case "snapshot":
        return checkpoints.snapshot(request.uans as string[]);
      case "cut": {
        const { uans, keep } = body as CutRequest;
        return checkpoints.cut(uans, keep);
      }
      case "snapshot-fetch":
        return checkpoints.fetchKept((body as SnapshotFetchRequest).token);
      case "restore":
        await bundles.ensure((body as RestoreRequest).actors, channel);
        return checkpoints.restore(body as RestoreRequest);
      case "discard":
        return checkpoints.discard(request.uans as string[]);
      case "stop":
        await this.stopHandlers.drainForStop();
        // Let the reply go out first; the Mediator treats the close as the end of the stop.
        setImmediate(() => void this.stopHandlers.finishStop(channel));
        return {};
      default:
        throw new Error(`unknown mediator request ${JSON.stringify(bodyType(body))}`);
    }
  }

  // ── Progress ────────────────────────────────────────────────────────────────────────────────

  /** Reports batched progress every `intervalMs`. */
  startProgress(intervalMs: number): void {
    this.progressTimer = setInterval(() => this.flushProgress(), intervalMs);
    this.progressTimer.unref();
  }

  stopProgress(): void {
    if (this.progressTimer) clearInterval(this.progressTimer);
  }

  noteProgress(cell: ActorCell): void {
    const progress = cell.behavior.progress?.(cell.state);
    if (progress === undefined || progress === cell.reportedProgress) return;
    cell.reportedProgress = progress;
    this.progressDirty.set(cell.uan, progress);
    this.activity.mark();
  }

  /** The actor left or was dropped: its unsent progress is no longer ours to report. */
  forgetProgress(uan: string): void {
    this.progressDirty.delete(uan);
  }

  flushProgress(): void {
    if (this.progressDirty.size === 0 || !this.channel) return;
    const items = [...this.progressDirty].map(([uan, iteration]) => ({ uan, iteration }));
    this.progressDirty.clear();
    this.channel.send({ type: "progress", items });
  }
}
