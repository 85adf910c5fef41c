import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { createServer, type Server, type Socket } from "node:net";
import {
  Channel,
  ChannelClosedError,
  MIN_PEER_KEY_BYTES,
  REGISTRATION_REFUSED_PREFIX,
  RequestTimeoutError,
  appOfUan,
  bodyType,
  isCount,
  isHostedActorList,
  isName,
  isNameList,
  isRecord,
  formatAddress,
  parseAddress,
  parseUan,
  type ActorSpec,
  type CollectReply,
  type DirectoryEntry,
  type ActorProfile,
  type HostedActor,
  type ActivityReply,
  type AdmitReply,
  type MigratedActor,
  type MigrateOutReply,
  type MigrateSettleReply,
  type ProfileReply,
  type PrepareReply,
  type ProgressItem,
  type RegisterReply,
  type RegisterRequest,
  type SnapshotReply,
  type SpawnReply,
} from "@malleo/actors";

export type { ActorProfile, ActorSpec } from "@malleo/actors";

export interface TheaterInfo {
  vmId: string;
  /** host:port other theaters dial. */
  address: string;
  pid: number;
  registeredAt: Date;
}

export interface ActorInfo {
  uan: string;
  vmId: string;
  behavior: string;
  stateBytes?: number;
}

export interface ProgressEvent {
  app: string;
  uan: string;
  vmId: string;
  iteration: number;
}

export interface MediatorOptions {
  host?: string;
  /** 0 = ephemeral. */
  port?: number;
  log?: (entry: Record<string, unknown>) => void;
  /** Per-request deadline for ordinary theater requests (spawn, resume, collect…); default 30 s. */
  requestTimeoutMs?: number;
  /** How long the target of a migration may take to acknowledge; default 60 s. */
  migrationTimeoutMs?: number;
  /**
   * When a migration's source drops its Mediator connection, how long it has to come back
   * before it is taken for dead and the target adopts the copies it acknowledged; default 5 s.
   */
  sourceLossGraceMs?: number;
  /**
   * The cluster peer key handed to every admitted theater; theaters link to each other only after
   * proving it. Default: 32 random bytes (then theaters admitted by another Mediator, or by this
   * one before a restart, cannot link to the ones admitted now: pass a persisted key to share it).
   */
  peerKey?: Uint8Array;
  /**
   * Every Mediator address theaters may fail over to, sent in each registration reply (it
   * replaces the theater's list). Absent: theaters keep the list they were started with.
   */
  mediatorAddresses?: () => string[];
  /**
   * Every `heartbeatMs` each registered theater is asked a no-op request; one that does not answer
   * within `heartbeatTimeoutMs` (default 5 s) has its connection closed, which counts as a loss
   * (a hung guest or a lost host never closes its TCP connection). Absent: no heartbeat.
   */
  heartbeatMs?: number;
  heartbeatTimeoutMs?: number;
  /** How long a new connection has to be admitted (`admit` with the VM's secret); default 10 s. */
  admissionTimeoutMs?: number;
  /** Connections not admitted yet, at most; more are closed at once. Default 256. */
  maxUnadmittedConnections?: number;
  /** …and at most this many from one remote address; default 32. */
  maxUnadmittedPerAddress?: number;
}

/** What a connection that has not been admitted yet costs us: a timer and a slot. */
interface Unadmitted {
  address: string;
  timer: NodeJS.Timeout;
}

interface TheaterRecord {
  info: TheaterInfo;
  channel: Channel;
  /** Set by stopTheater: the coming disconnect is expected, not a loss. */
  stopping: boolean;
}

interface ReadyWaiter {
  vmId: string;
  waitingFor: Set<string>;
  ready: Set<string>;
  wake(): void;
  fail(error: Error): void;
}

const DIRECTORY_ACK_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 20_000;
const COLLECT_ATTEMPTS = 5;

/**
 * The Mediator: theater registry, actor directory (UAN → VM), ready barrier and migration
 * coordinator. Theaters connect to it over TCP; the lead's worker drives it through this class.
 */
export class Mediator {
  private readonly options: MediatorOptions;
  private server: Server | null = null;
  private readonly connections = new Set<Channel>();
  private readonly expectedSecrets = new Map<string, Buffer>();
  private readonly theaters = new Map<string, TheaterRecord>();
  private readonly vmOfChannel = new Map<Channel, string>();
  private readonly directory = new Map<string, ActorInfo>();
  private readonly registrationWaiters = new Map<string, Set<(info: TheaterInfo) => void>>();
  private readonly readyWaiters = new Set<ReadyWaiter>();
  private readonly migrating = new Set<string>();
  private readonly progressListeners = new Set<(event: ProgressEvent) => void>();
  private readonly lostListeners = new Set<(vmId: string) => void>();
  private readonly unadmitted = new Map<Channel, Unadmitted>();
  private readonly unadmittedByAddress = new Map<string, number>();
  /** Connections that proved a VM's secret (`admit`), and which VM. */
  private readonly admitted = new Map<Channel, string>();
  /** Per VM, the actors it may bring in at registration besides those the directory puts there. */
  private readonly placements = new Map<string, Set<string>>();
  private connectionsRefused = 0;
  private closedBeforeAdmission = 0;

  private readonly clusterPeerKey: Buffer;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private readonly pinging = new Set<Channel>();

  constructor(options: MediatorOptions = {}) {
    this.options = options;
    if (options.peerKey !== undefined && options.peerKey.length < MIN_PEER_KEY_BYTES)
      throw new Error(`the peer key has ${options.peerKey.length} bytes; it needs at least ${MIN_PEER_KEY_BYTES}`);
    this.clusterPeerKey = options.peerKey ? Buffer.from(options.peerKey) : randomBytes(32);
  }

  /** The cluster peer key admitted theaters prove to each other (a copy). */
  get peerKey(): Buffer {
    return Buffer.from(this.clusterPeerKey);
  }

  private log(level: "debug" | "info" | "warn" | "error", msg: string, fields: Record<string, unknown> = {}): void {
    this.options.log?.({ ts: new Date().toISOString(), level, component: "mediator", msg, ...fields });
  }

  private get requestTimeoutMs(): number {
    return this.options.requestTimeoutMs ?? 30_000;
  }

  async start(): Promise<{ address: string }> {
    if (this.server) throw new Error("mediator already started");
    const host = this.options.host ?? "127.0.0.1";
    const server = createServer((socket) => this.accept(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.options.port ?? 0, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    const address = formatAddress(host, (server.address() as { port: number }).port);
    this.log("info", "mediator listening", { address });
    if (this.options.heartbeatMs) {
      this.heartbeatTimer = setInterval(() => this.heartbeat(), this.options.heartbeatMs);
      this.heartbeatTimer.unref();
    }
    return { address };
  }

  /** Closes the server and every theater connection; theaters will keep trying to reconnect. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
    for (const record of this.theaters.values()) record.stopping = true;
    for (const channel of this.connections) channel.destroy("mediator stopped");
    for (const waiter of this.readyWaiters) waiter.fail(new Error("mediator stopped"));
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  // ── Registry ──────────────────────────────────────────────────────────────────────────────

  /**
   * Allows one theater to register for `vmId` with `secret` (a later call replaces the secret).
   * `actors`: the actors placed on this VM that it may bring with it when it (re-)registers,
   * besides those the directory already puts there (a new theater: none); any other actor it
   * claims is refused and logged. Without `actors`, a claimed actor is refused only if the
   * directory places it on another VM whose theater is connected.
   */
  expectTheater(vmId: string, secret: string, options: { actors?: Iterable<string> } = {}): void {
    if (!vmId || !secret) throw new Error("expectTheater needs a VM id and a non-empty secret");
    this.expectedSecrets.set(vmId, digest(secret));
    if (options.actors !== undefined) this.placements.set(vmId, new Set(options.actors));
    else this.placements.delete(vmId);
  }

  /** Connections waiting for admission now, refused at the cap, and closed for bad input before admission. */
  admissionStats(): { waiting: number; refusedAtCap: number; closedBeforeAdmission: number } {
    return {
      waiting: this.unadmitted.size,
      refusedAtCap: this.connectionsRefused,
      closedBeforeAdmission: this.closedBeforeAdmission,
    };
  }

  theater(vmId: string): TheaterInfo | undefined {
    const info = this.theaters.get(vmId)?.info;
    return info ? { ...info } : undefined;
  }

  awaitTheater(vmId: string, timeoutMs: number): Promise<TheaterInfo> {
    const registered = this.theater(vmId);
    if (registered) return Promise.resolve(registered);
    return new Promise((resolve, reject) => {
      const waiters = this.registrationWaiters.get(vmId) ?? new Set();
      this.registrationWaiters.set(vmId, waiters);
      const waiter = (info: TheaterInfo) => {
        clearTimeout(timer);
        resolve({ ...info });
      };
      const timer = setTimeout(() => {
        waiters.delete(waiter);
        reject(new Error(`the theater of VM ${vmId} did not register within ${timeoutMs} ms`));
      }, timeoutMs);
      waiters.add(waiter);
    });
  }

  onProgress(callback: (event: ProgressEvent) => void): () => void {
    this.progressListeners.add(callback);
    return () => this.progressListeners.delete(callback);
  }

  onTheaterLost(callback: (vmId: string) => void): () => void {
    this.lostListeners.add(callback);
    return () => this.lostListeners.delete(callback);
  }

  /**
   * A new connection: until it is admitted it may send only small JSON frames (never decoded as
   * structured clones), only `admit`, and only for `admissionTimeoutMs`; a capped number of such
   * connections may wait at once, in all and per remote address.
   */
  private accept(socket: Socket): void {
    const address = socket.remoteAddress ?? "?";
    const fromAddress = this.unadmittedByAddress.get(address) ?? 0;
    const cap = this.options.maxUnadmittedConnections ?? 256;
    const perAddress = this.options.maxUnadmittedPerAddress ?? 32;
    if (this.unadmitted.size >= cap || fromAddress >= perAddress) {
      socket.destroy();
      this.connectionsRefused++;
      // One line per 100 refusals: a flood must not become a flood of logs.
      if (this.connectionsRefused % 100 === 1)
        this.log("warn", "connection refused: too many connections waiting for admission", {
          remote: address,
          waiting: this.unadmitted.size,
          fromAddress,
          refusedSoFar: this.connectionsRefused,
        });
      return;
    }
    const channel = new Channel(socket);
    channel.requireJsonUntilTrusted();
    this.connections.add(channel);
    const timeoutMs = this.options.admissionTimeoutMs ?? 10_000;
    const timer = setTimeout(() => {
      this.log("warn", "connection cut off: not admitted in time", { remote: channel.remote, timeoutMs });
      channel.destroy(`not admitted within ${timeoutMs} ms`);
    }, timeoutMs);
    this.unadmitted.set(channel, { address, timer });
    this.unadmittedByAddress.set(address, fromAddress + 1);
    channel.setHandlers({
      onRequest: (body) => this.handleTheaterRequest(body, channel),
      onMessage: (body) => this.guarded(channel, () => this.handleTheaterMessage(body, channel)),
      onClose: (reason) => this.handleDisconnect(channel, reason),
    });
  }

  private leaveUnadmitted(channel: Channel): void {
    const waiting = this.unadmitted.get(channel);
    if (!waiting) return;
    clearTimeout(waiting.timer);
    this.unadmitted.delete(channel);
    const left = (this.unadmittedByAddress.get(waiting.address) ?? 1) - 1;
    if (left > 0) this.unadmittedByAddress.set(waiting.address, left);
    else this.unadmittedByAddress.delete(waiting.address);
  }

  /** Closes a link that sent something malformed or not allowed, and says so in the log. */
  private dropLink(channel: Channel, reason: string, options: { afterReply?: boolean } = {}): void {
    this.log("warn", "theater link closed: bad input", { vmId: this.admitted.get(channel), remote: channel.remote, reason });
    channel.socket.pause(); // read nothing more from it
    // A request's error answer goes out first (it is written after this turn), then the link closes.
    if (options.afterReply) setImmediate(() => channel.destroy(`bad input: ${reason}`));
    else channel.destroy(`bad input: ${reason}`);
  }

  /** Last resort: a handler that throws closes that link, never the worker. */
  private guarded(channel: Channel, run: () => void): void {
    try {
      run();
    } catch (error) {
      this.dropLink(channel, `handler failed: ${(error as Error)?.message ?? String(error)}`);
    }
  }

  private handleTheaterRequest(body: unknown, channel: Channel): unknown {
    const type = bodyType(body);
    if (!this.admitted.has(channel)) {
      if (type === "admit") return this.admit(body, channel);
      const reason = `${JSON.stringify(type?.slice(0, 100) ?? "untyped")} before admission`;
      this.dropLink(channel, reason, { afterReply: true });
      throw new Error(`${REGISTRATION_REFUSED_PREFIX}${reason}`);
    }
    if (type === "register") return this.register(body as RegisterRequest, channel);
    if (!this.vmOfChannel.has(channel)) throw new Error("not registered");
    if (type === "resolve") {
      const uan = (body as { uan?: unknown }).uan;
      if (!isName(uan)) {
        this.dropLink(channel, "resolve without a UAN", { afterReply: true });
        throw new Error("malformed resolve");
      }
      const entry = this.directory.get(uan);
      return { address: entry ? (this.theaters.get(entry.vmId)?.info.address ?? null) : null };
    }
    const reason = `unknown request ${JSON.stringify(type?.slice(0, 100) ?? "untyped")}`;
    this.dropLink(channel, reason, { afterReply: true });
    throw new Error(reason);
  }

  /** Checks the VM's secret; the connection then takes structured-clone frames (and `register`). */
  private admit(body: unknown, channel: Channel): AdmitReply {
    const request = isRecord(body) ? body : {};
    const vmId = isName(request.vmId) ? request.vmId : undefined;
    const refuse = (reason: string): never => {
      this.log("warn", "theater registration refused", { vmId, reason, remote: channel.remote });
      // The error reply carries the reason; close once it has been written.
      setImmediate(() => void channel.end(`registration refused: ${reason}`));
      throw new Error(`${REGISTRATION_REFUSED_PREFIX}${reason}`);
    };
    if (!vmId || !isName(request.secret) || !isCount(request.pid) || !isName(request.address))
      return refuse("malformed admission");
    const expected = this.expectedSecrets.get(vmId);
    if (!expected) return refuse(`no theater is expected for VM ${vmId}`);
    if (!timingSafeEqual(expected, digest(request.secret))) return refuse(`wrong secret for VM ${vmId}`);
    this.leaveUnadmitted(channel);
    this.admitted.set(channel, vmId);
    channel.trust();
    return { admitted: true };
  }

  private register(request: RegisterRequest, channel: Channel): RegisterReply {
    const refuse = (reason: string): never => {
      this.log("warn", "theater registration refused", {
        vmId: isName(request?.vmId) ? request.vmId : undefined,
        reason,
        remote: channel.remote,
      });
      // The error reply carries the reason; close once it has been written.
      setImmediate(() => void channel.end(`registration refused: ${reason}`));
      throw new Error(`${REGISTRATION_REFUSED_PREFIX}${reason}`);
    };
    if (
      !isRecord(request) ||
      !isName(request.vmId) ||
      !isName(request.secret) ||
      !isCount(request.pid) ||
      !isName(request.address) ||
      !isHostedActorList(request.actors)
    ) {
      return refuse("malformed registration");
    }
    if (request.vmId !== this.admitted.get(channel)) return refuse(`this connection was admitted for another VM`);
    try {
      parseAddress(request.address);
    } catch {
      return refuse(`malformed address ${JSON.stringify(request.address)}`);
    }
    const expected = this.expectedSecrets.get(request.vmId);
    if (!expected) return refuse(`no theater is expected for VM ${request.vmId}`);
    if (!timingSafeEqual(expected, digest(request.secret))) return refuse(`wrong secret for VM ${request.vmId}`);
    const current = this.theaters.get(request.vmId);
    if (current && current.channel.isOpen) {
      // The same process coming back (its old connection half-dead) takes over; another one is a duplicate.
      const sameTheater = current.info.pid === request.pid && current.info.address === request.address;
      if (!sameTheater) return refuse(`VM ${request.vmId} already has a registered theater`);
      current.channel.destroy("replaced by a new connection from the same theater");
    }
    if (this.vmOfChannel.has(channel)) return refuse("this connection is already registered");

    const info: TheaterInfo = { vmId: request.vmId, address: request.address, pid: request.pid, registeredAt: new Date() };
    this.theaters.set(info.vmId, { info, channel, stopping: false });
    this.vmOfChannel.set(channel, info.vmId);
    // From here on the connection is a registered theater's.
    this.leaveUnadmitted(channel);
    // A theater that re-registers after a Mediator restart brings its actors back into the
    // directory — only those placed on its VM.
    const refused: Array<{ uan: string; reason: string }> = [];
    for (const actor of request.actors) {
      const reason = this.whyNotHere(actor.uan, info.vmId);
      if (reason === null) this.recordActor(actor, info.vmId);
      else refused.push({ uan: actor.uan, reason });
    }
    if (refused.length > 0)
      this.log("warn", "actors refused at registration: not placed on this VM", {
        vmId: info.vmId,
        remote: channel.remote,
        count: refused.length,
        first: refused.slice(0, 5),
      });
    this.log("info", "theater registered", {
      vmId: info.vmId,
      address: info.address,
      pid: info.pid,
      actors: request.actors.length - refused.length,
    });
    const waiters = this.registrationWaiters.get(info.vmId);
    this.registrationWaiters.delete(info.vmId);
    for (const waiter of waiters ?? []) waiter(info);
    const reply: RegisterReply = { accepted: true, peerKey: this.clusterPeerKey };
    const mediators = this.failoverAddresses();
    if (mediators) reply.mediators = mediators;
    return reply;
  }

  private failoverAddresses(): string[] | undefined {
    if (!this.options.mediatorAddresses) return undefined;
    try {
      const addresses = this.options.mediatorAddresses();
      for (const address of addresses) parseAddress(address);
      return addresses.length > 0 ? addresses : undefined;
    } catch (error) {
      this.log("error", "mediatorAddresses failed; theaters keep their list", { error: (error as Error).message });
      return undefined;
    }
  }

  /** Null when the theater of `vmId` may bring `uan` with it at registration; why not otherwise. */
  private whyNotHere(uan: string, vmId: string): string | null {
    try {
      parseUan(uan);
    } catch {
      return "not a UAN";
    }
    const entry = this.directory.get(uan);
    if (entry?.vmId === vmId) return null;
    if (entry && this.theaters.get(entry.vmId)?.channel.isOpen) return `lives on VM ${entry.vmId}`;
    const placed = this.placements.get(vmId);
    if (placed && !placed.has(uan)) return "not placed on this VM";
    return null;
  }

  private handleTheaterMessage(body: unknown, channel: Channel): void {
    const vmId = this.vmOfChannel.get(channel);
    if (!vmId) {
      if (!this.admitted.has(channel)) this.dropLink(channel, "a message before admission");
      return;
    }
    const type = bodyType(body);
    if (type === "progress") {
      const items = (body as { items?: unknown }).items;
      if (!Array.isArray(items) || !items.every(isProgressItem)) {
        this.dropLink(channel, "malformed progress");
        return;
      }
      for (const item of items) {
        // Progress counts only for actors the directory puts on this theater's VM, or that are
        // being migrated (a live move runs them at the target before the directory is updated).
        if (this.directory.get(item.uan)?.vmId !== vmId && !this.migrating.has(item.uan)) continue;
        let app: string;
        try {
          app = appOfUan(item.uan);
        } catch {
          continue;
        }
        this.emitProgress({ app, uan: item.uan, vmId, iteration: item.iteration });
      }
    } else if (type === "held") {
      const uans = (body as { uans?: unknown }).uans;
      if (!isNameList(uans)) {
        this.dropLink(channel, "malformed held");
        return;
      }
      this.markReady(vmId, uans);
    } else {
      this.dropLink(channel, `unknown message ${JSON.stringify(type?.slice(0, 100) ?? "untyped")}`);
    }
  }

  /** A theater's reply, checked; a malformed one closes the link and fails the request. */
  private checked<T>(record: TheaterRecord, what: string, reply: unknown, valid: (reply: unknown) => boolean): T {
    if (valid(reply)) return reply as T;
    this.dropLink(record.channel, `malformed ${what} reply`);
    throw new Error(`the theater of VM ${record.info.vmId} sent a malformed ${what} reply`);
  }

  private emitProgress(event: ProgressEvent): void {
    for (const listener of this.progressListeners) {
      try {
        listener(event);
      } catch (error) {
        this.log("error", "progress listener threw", { error: (error as Error).message });
      }
    }
  }

  private handleDisconnect(channel: Channel, reason: string): void {
    this.connections.delete(channel);
    if (this.unadmitted.has(channel) && /^(protocol violation|corrupt|handler failed)/.test(reason)) {
      this.closedBeforeAdmission++;
      // The first 20, then one line per 100: a flood must not become a flood of logs.
      if (this.closedBeforeAdmission <= 20 || this.closedBeforeAdmission % 100 === 0)
        this.log("warn", "connection closed before admission: bad input", {
          remote: channel.remote,
          reason,
          soFar: this.closedBeforeAdmission,
        });
    }
    this.leaveUnadmitted(channel);
    this.admitted.delete(channel);
    const vmId = this.vmOfChannel.get(channel);
    this.vmOfChannel.delete(channel);
    if (!vmId) return;
    const record = this.theaters.get(vmId);
    if (!record || record.channel !== channel) return;
    this.theaters.delete(vmId);
    for (const waiter of this.readyWaiters)
      if (waiter.vmId === vmId) waiter.fail(new Error(`theater of VM ${vmId} disconnected: ${reason}`));
    if (record.stopping) return;
    // The directory keeps its actors: they are lost only if the theater never comes back.
    this.log("warn", "theater lost", { vmId, reason });
    for (const listener of this.lostListeners) {
      try {
        listener(vmId);
      } catch (error) {
        this.log("error", "theater-lost listener threw", { error: (error as Error).message });
      }
    }
  }

  private heartbeat(): void {
    const timeoutMs = this.options.heartbeatTimeoutMs ?? 5_000;
    for (const record of this.theaters.values()) {
      const channel = record.channel;
      if (this.pinging.has(channel) || !channel.isOpen) continue;
      this.pinging.add(channel);
      channel
        .request({ type: "directory", entries: [] }, timeoutMs)
        .catch((error: unknown) => {
          if (error instanceof RequestTimeoutError && channel.isOpen) {
            this.log("warn", "theater did not answer a heartbeat; closing its connection", { vmId: record.info.vmId, timeoutMs });
            channel.destroy(`no answer to a heartbeat within ${timeoutMs} ms`);
          }
        })
        .finally(() => this.pinging.delete(channel));
    }
  }

  private connected(vmId: string): TheaterRecord {
    const record = this.theaters.get(vmId);
    if (!record || !record.channel.isOpen) throw new Error(`VM ${vmId} has no registered theater`);
    return record;
  }

  // ── Directory ─────────────────────────────────────────────────────────────────────────────

  private recordActor(actor: HostedActor, vmId: string): void {
    const existing = this.directory.get(actor.uan);
    this.directory.set(actor.uan, {
      uan: actor.uan,
      vmId,
      behavior: actor.behavior,
      stateBytes: actor.stateBytes ?? existing?.stateBytes,
    });
  }

  listActors(vmId?: string): ActorInfo[] {
    const actors = [...this.directory.values()].filter((actor) => vmId === undefined || actor.vmId === vmId);
    return actors.map((actor) => ({ ...actor })).sort((a, b) => a.uan.localeCompare(b.uan));
  }

  /** Tells every theater where these actors live now; resolves when all connected theaters acknowledged. */
  private async pushDirectory(entries: DirectoryEntry[]): Promise<void> {
    const results = await Promise.allSettled(
      [...this.theaters.values()].map((record) =>
        record.channel.request({ type: "directory", entries }, DIRECTORY_ACK_TIMEOUT_MS),
      ),
    );
    const failures = results.filter((result) => result.status === "rejected").length;
    if (failures > 0) this.log("warn", "some theaters did not acknowledge a directory update", { failures });
  }

  async spawnActors(vmId: string, specs: ActorSpec[]): Promise<void> {
    const record = this.connected(vmId);
    const batch = new Set<string>();
    for (const spec of specs) {
      parseUan(spec.uan);
      if (this.directory.has(spec.uan) || batch.has(spec.uan)) throw new Error(`actor ${spec.uan} already exists`);
      batch.add(spec.uan);
    }
    // Listed before the theater creates them, so the first messages between them resolve.
    for (const spec of specs) this.recordActor({ uan: spec.uan, behavior: spec.behavior }, vmId);
    try {
      const reply = this.checked<SpawnReply>(
        record,
        "spawn",
        await record.channel.request({ type: "spawn", specs }, this.requestTimeoutMs),
        (r) => isRecord(r) && isHostedActorList(r.actors) && r.actors.every((actor) => batch.has(actor.uan)),
      );
      for (const actor of reply.actors) this.recordActor(actor, vmId);
    } catch (error) {
      for (const spec of specs) this.directory.delete(spec.uan);
      throw new Error(`spawning ${specs.length} actors on VM ${vmId} failed: ${(error as Error).message}`);
    }
    this.log("info", "actors spawned", { vmId, count: specs.length });
    void this.pushDirectory(specs.map((spec) => ({ uan: spec.uan, address: record.info.address })));
  }

  // ── Ready barrier ─────────────────────────────────────────────────────────────────────────

  /**
   * Asks the actors to hold at their next safe point and waits until they all do or `timeoutMs`
   * passes. Actors that are not on this VM are reported not ready. They stay held until `resume`.
   */
  async awaitReady(vmId: string, uans: string[] | "all", timeoutMs: number): Promise<{ ready: string[]; notReady: string[] }> {
    const record = this.connected(vmId);
    const requested = uans === "all" ? this.listActors(vmId).map((actor) => actor.uan) : [...uans];
    const onVm = requested.filter((uan) => this.directory.get(uan)?.vmId === vmId);
    const ready = new Set<string>();
    const outcome = () => ({
      ready: requested.filter((uan) => ready.has(uan)),
      notReady: requested.filter((uan) => !ready.has(uan)),
    });
    if (onVm.length === 0) return outcome();

    let wake: () => void = () => {};
    let fail: (error: Error) => void = () => {};
    const settled = new Promise<void>((resolve, reject) => {
      wake = resolve;
      fail = reject;
    });
    settled.catch(() => {}); // observed below; this only keeps an early failure from going unhandled
    const waiter: ReadyWaiter = { vmId, waitingFor: new Set(onVm), ready, wake, fail };
    this.readyWaiters.add(waiter);
    const timer = setTimeout(wake, timeoutMs);
    try {
      try {
        const reply = this.checked<PrepareReply>(
          record,
          "prepare",
          await record.channel.request({ type: "prepare", uans: onVm }, timeoutMs),
          (r) => isRecord(r) && isNameList(r.held) && isNameList(r.unknown),
        );
        for (const uan of reply.unknown) waiter.waitingFor.delete(uan);
        this.markReady(vmId, reply.held);
        if (waiter.waitingFor.size === 0) wake();
      } catch (error) {
        if (!(error instanceof RequestTimeoutError)) throw error; // out of time: nobody is ready
      }
      await settled;
    } finally {
      clearTimeout(timer);
      this.readyWaiters.delete(waiter);
    }
    const result = outcome();
    this.log(result.notReady.length === 0 ? "info" : "warn", "ready barrier finished", {
      vmId,
      ready: result.ready.length,
      notReady: result.notReady.length,
    });
    return result;
  }

  private markReady(vmId: string, uans: string[]): void {
    for (const waiter of this.readyWaiters) {
      if (waiter.vmId !== vmId) continue;
      for (const uan of uans) {
        if (!waiter.waitingFor.delete(uan)) continue;
        waiter.ready.add(uan);
      }
      if (waiter.waitingFor.size === 0) waiter.wake();
    }
  }

  async resume(vmId: string, uans?: string[]): Promise<void> {
    const record = this.connected(vmId);
    await record.channel.request({ type: "resume", uans: uans ?? "all" }, this.requestTimeoutMs);
  }

  // ── Migration ─────────────────────────────────────────────────────────────────────────────

  /**
   * Moves actors (held at their safe point, or held on the way) from one theater to another.
   * Resolves after the target acknowledged and every theater acknowledged the new locations.
   * The actors arrive held: call `resume` on the target. On failure they stay on the source, held.
   */
  async migrate(
    uans: string[],
    fromVmId: string,
    toVmId: string,
    options: { resumeOnArrival?: boolean } = {},
  ): Promise<{ moved: number; bytes: number; holdMs: number[] }> {
    if (uans.length === 0) return { moved: 0, bytes: 0, holdMs: [] };
    const live = options.resumeOnArrival === true;
    /** A live transfer leaves no actor held, wherever a failure left it. */
    const runWhereTheyAre = async (at: string, which: string[]) => {
      if (!live || which.length === 0) return;
      await this.resume(at, which).catch((error: Error) =>
        this.log("warn", "could not resume actors after a live migration", { vmId: at, error: error.message }),
      );
    };
    if (fromVmId === toVmId) throw new Error(`cannot migrate from VM ${fromVmId} to itself`);
    const source = this.connected(fromVmId);
    const target = this.connected(toVmId);
    for (const uan of uans) {
      const entry = this.directory.get(uan);
      if (!entry) throw new Error(`unknown actor ${uan}`);
      if (entry.vmId !== fromVmId) throw new Error(`actor ${uan} lives on VM ${entry.vmId}, not ${fromVmId}`);
      if (this.migrating.has(uan)) throw new Error(`actor ${uan} is already being migrated`);
    }
    if (new Set(uans).size !== uans.length) throw new Error("an actor is listed twice");
    for (const uan of uans) this.migrating.add(uan);
    const startedAt = performance.now();
    const fail = (error: Error): never => {
      this.log("warn", "migration failed", { from: fromVmId, to: toVmId, actors: uans.length, error: error.message });
      throw new Error(`migrating ${uans.length} actors from VM ${fromVmId} to VM ${toVmId} failed: ${error.message}`);
    };
    try {
      const migrationTimeoutMs = this.options.migrationTimeoutMs ?? 60_000;
      let reply: MigrateOutReply;
      try {
        const raw = await source.channel.request(
          { type: "migrate-out", uans, targetAddress: target.info.address, timeoutMs: migrationTimeoutMs, resumeOnArrival: live },
          // The source waits for two target acknowledgements and for its actors' safe points.
          2 * migrationTimeoutMs + 15_000,
        );
        if (!isMigrateOutReply(raw)) {
          this.dropLink(source.channel, "malformed migrate-out reply");
          // Nothing was recorded; the source answered, so it is alive and keeps its actors.
          await this.settleTarget(toVmId, uans, true);
          return fail(new Error(`the source sent a malformed migrate-out reply`));
        }
        reply = raw;
      } catch (error) {
        // A source that answered is alive and kept its actors; one that vanished may have died
        // after the target acknowledged, leaving the target's copies as the only ones.
        const sourceGone = error instanceof ChannelClosedError && !(await this.comesBack(fromVmId));
        const settled = await this.settleTarget(toVmId, uans, !sourceGone);
        if (sourceGone && settled) {
          const landed = [...settled.committed, ...settled.adopted];
          await this.recordMoved(landed, toVmId);
          await runWhereTheyAre(toVmId, landed);
          if (landed.length === uans.length) {
            this.log("warn", "source lost after the target acknowledged; the target adopted the actors", {
              from: fromVmId,
              to: toVmId,
              actors: landed.length,
            });
            return { moved: landed.length, bytes: 0, holdMs: [] };
          }
          const lost = uans.filter((uan) => !landed.includes(uan));
          return fail(new Error(`the source was lost with ${lost.length} actors (${lost.slice(0, 3).join(", ")})`));
        }
        return fail(error as Error);
      }
      if (reply.inDoubt) {
        // The commit went out but its answer did not come back: the target knows what happened.
        const settled = await this.settleTarget(toVmId, uans, true);
        const committed = settled?.committed ?? [];
        await this.connected(fromVmId).channel.request({ type: "migrate-finish", uans, committed }, this.requestTimeoutMs);
        await this.recordMoved(committed, toVmId);
        await runWhereTheyAre(toVmId, committed);
        await runWhereTheyAre(
          fromVmId,
          uans.filter((uan) => !committed.includes(uan)),
        );
        if (committed.length !== uans.length)
          return fail(new Error(`the commit was lost; ${uans.length - committed.length} actors stay on the source`));
        return { moved: committed.length, bytes: reply.bytes, holdMs: [] };
      }
      for (const actor of reply.actors) this.recordActor(actor, toVmId);
      await this.pushDirectory(uans.map((uan) => ({ uan, address: target.info.address })));
      this.log("info", "actors migrated", {
        from: fromVmId,
        to: toVmId,
        actors: reply.moved,
        bytes: reply.bytes,
        ms: Math.round(performance.now() - startedAt),
      });
      return { moved: reply.moved, bytes: reply.bytes, holdMs: reply.holdMs ?? [] };
    } finally {
      for (const uan of uans) this.migrating.delete(uan);
    }
  }

  /** Whether a theater that dropped its connection registers again within the grace period. */
  private async comesBack(vmId: string): Promise<boolean> {
    try {
      await this.awaitTheater(vmId, this.options.sourceLossGraceMs ?? 5_000);
      return true;
    } catch {
      return false;
    }
  }

  /** Asks the target of a failed migration to keep, adopt or discard what it received. */
  private async settleTarget(vmId: string, uans: string[], sourceAlive: boolean): Promise<MigrateSettleReply | null> {
    const record = this.theaters.get(vmId);
    if (!record?.channel.isOpen) return null;
    try {
      const asked = new Set(uans);
      return this.checked<MigrateSettleReply>(
        record,
        "migrate-settle",
        await record.channel.request({ type: "migrate-settle", uans, sourceAlive }, this.requestTimeoutMs),
        (r) =>
          isRecord(r) &&
          [r.committed, r.adopted, r.discarded].every((list) => isNameList(list) && list.every((uan) => asked.has(uan))),
      );
    } catch (error) {
      this.log("warn", "could not settle a failed migration with its target", { vmId, error: (error as Error).message });
      return null;
    }
  }

  private async recordMoved(uans: string[], toVmId: string): Promise<void> {
    if (uans.length === 0) return;
    const address = this.theaters.get(toVmId)?.info.address;
    for (const uan of uans) {
      const entry = this.directory.get(uan);
      if (entry) entry.vmId = toVmId;
    }
    if (address) await this.pushDirectory(uans.map((uan) => ({ uan, address })));
  }

  // ── Activity ──────────────────────────────────────────────────────────────────────────────

  /** When the actors of each VM made progress over [fromMs, toMs) (epoch ms); VMs without a theater are left out. */
  async activity(vmIds: string[], fromMs: number, toMs: number): Promise<ActivityReply[]> {
    const replies = await Promise.all(
      vmIds.map(async (vmId) => {
        const record = this.theaters.get(vmId);
        if (!record?.channel.isOpen) return null;
        return record.channel.request<ActivityReply>({ type: "activity", fromMs, toMs }, this.requestTimeoutMs).catch(() => null);
      }),
    );
    return replies.filter((r): r is ActivityReply => r !== null);
  }

  // ── Profiling ─────────────────────────────────────────────────────────────────────────────

  /**
   * Per actor: messages received and sent per peer, handler calls and time, state bytes and
   * mailbox length, as measured by the theaters (for placement and the UI).
   */
  async profileActors(vmId?: string): Promise<Array<ActorProfile & { vmId: string }>> {
    const vmIds = vmId === undefined ? [...this.theaters.keys()] : [vmId];
    const profiles = await Promise.all(
      vmIds.map(async (id) => {
        const reply = await this.connected(id).channel.request<ProfileReply>({ type: "profile" }, this.requestTimeoutMs);
        return reply.actors.map((actor) => ({ ...actor, vmId: id }));
      }),
    );
    return profiles.flat().sort((a, b) => a.uan.localeCompare(b.uan));
  }

  // ── Results and shutdown ──────────────────────────────────────────────────────────────────

  /** A snapshot of each actor's state, taken between two of its handler calls. */
  async collectStates(uans: string[]): Promise<Map<string, unknown>> {
    const collected = new Map<string, unknown>();
    let remaining = [...new Set(uans)];
    for (let attempt = 1; remaining.length > 0; attempt++) {
      const byVm = new Map<string, string[]>();
      for (const uan of remaining) {
        const entry = this.directory.get(uan);
        if (!entry) throw new Error(`unknown actor ${uan}`);
        byVm.set(entry.vmId, [...(byVm.get(entry.vmId) ?? []), uan]);
      }
      const missing: string[] = [];
      await Promise.all(
        [...byVm].map(async ([vmId, group]) => {
          const reply = await this.connected(vmId).channel.request<CollectReply>(
            { type: "collect", uans: group },
            this.requestTimeoutMs,
          );
          for (const [uan, state] of reply.states) collected.set(uan, state);
          missing.push(...reply.missing);
        }),
      );
      // An actor that moved between the lookup and the request is asked for again where it went.
      if (missing.length > 0 && attempt >= COLLECT_ATTEMPTS)
        throw new Error(`could not collect the state of ${missing.join(", ")}`);
      if (missing.length > 0) await new Promise((resolve) => setTimeout(resolve, 50));
      remaining = missing;
    }
    return new Map(uans.map((uan) => [uan, collected.get(uan)]));
  }

  // ── Checkpoints and restore ───────────────────────────────────────────────────────────────

  /**
   * Copies of actors of one VM as a migration would ship them (state, mailbox, delivery order
   * state), left running or held as they are. Take them held (awaitReady) for a consistent cut.
   */
  async snapshotActors(vmId: string, uans: string[]): Promise<SnapshotReply> {
    return this.connected(vmId).channel.request<SnapshotReply>({ type: "snapshot", uans }, this.requestTimeoutMs);
  }

  /**
   * Drops actors wherever they are (a theater that hosts one deletes it; every theater forgets
   * messages parked for them) and from the directory: their application is about to be restored.
   */
  async discardActors(uans: string[]): Promise<void> {
    const gone = new Set(uans);
    await Promise.all(
      [...this.theaters.values()]
        .filter((record) => record.channel.isOpen)
        .map((record) => record.channel.request({ type: "discard", uans }, this.requestTimeoutMs)),
    );
    for (const uan of gone) this.directory.delete(uan);
    this.log("info", "actors discarded", { count: gone.size });
  }

  /** Installs actors from a checkpoint on one VM, running (`seqBase`: see the theater's restore). */
  async restoreActors(vmId: string, actors: MigratedActor[], seqBase: number): Promise<void> {
    const record = this.connected(vmId);
    for (const actor of actors) {
      parseUan(actor.uan);
      if (this.directory.has(actor.uan)) throw new Error(`actor ${actor.uan} already exists`);
    }
    for (const actor of actors) this.recordActor({ uan: actor.uan, behavior: actor.behavior }, vmId);
    try {
      const reply = await record.channel.request<SpawnReply>({ type: "restore", actors, seqBase }, this.requestTimeoutMs);
      for (const actor of reply.actors) this.recordActor(actor, vmId);
    } catch (error) {
      for (const actor of actors) this.directory.delete(actor.uan);
      throw new Error(`restoring ${actors.length} actors on VM ${vmId} failed: ${(error as Error).message}`);
    }
    this.log("info", "actors restored", { vmId, count: actors.length });
    await this.pushDirectory(actors.map((actor) => ({ uan: actor.uan, address: record.info.address })));
  }

  /** Delivers an application message to an actor from outside (sender null). */
  sendMessage(uan: string, body: unknown): void {
    const entry = this.directory.get(uan);
    if (!entry) throw new Error(`unknown actor ${uan}`);
    this.connected(entry.vmId).channel.send({ type: "deliver", to: uan, from: null, body, hops: 0 });
  }

  /**
   * Graceful stop: the theater lets its peers finish sending to it, forwards anything pending,
   * and exits; the Mediator forgets the VM (its secret too). Refuses while actors still live
   * there, unless `force` (their directory entries are then dropped: they are gone).
   */
  async stopTheater(vmId: string, options: { force?: boolean } = {}): Promise<void> {
    const record = this.theaters.get(vmId);
    const hosted = this.listActors(vmId).map((actor) => actor.uan);
    if (hosted.length > 0 && !options.force) {
      throw new Error(
        `VM ${vmId} still hosts ${hosted.length} actors (${hosted.slice(0, 3).join(", ")}${hosted.length > 3 ? ", …" : ""}); migrate them first`,
      );
    }
    for (const uan of hosted) this.directory.delete(uan);
    this.expectedSecrets.delete(vmId);
    this.placements.delete(vmId);
    if (!record) return;
    record.stopping = true;
    this.theaters.delete(vmId);
    try {
      await record.channel.request({ type: "stop" }, STOP_TIMEOUT_MS);
    } catch (error) {
      if (record.channel.isOpen) this.log("warn", "theater did not confirm its stop", { vmId, error: (error as Error).message });
    }
    const closed = await Promise.race([record.channel.closed, delay(STOP_TIMEOUT_MS).then(() => null)]);
    if (closed === null) record.channel.destroy("theater did not close after stopping");
    this.log("info", "theater stopped", { vmId });
  }
}

function isProgressItem(value: unknown): value is ProgressItem {
  return isRecord(value) && isName(value.uan) && typeof value.iteration === "number" && Number.isFinite(value.iteration);
}

function isMigrateOutReply(value: unknown): value is MigrateOutReply {
  return (
    isRecord(value) &&
    isCount(value.moved) &&
    isCount(value.bytes) &&
    isHostedActorList(value.actors) &&
    (value.holdMs === undefined ||
      (Array.isArray(value.holdMs) && value.holdMs.every((ms) => typeof ms === "number" && Number.isFinite(ms)))) &&
    (value.inDoubt === undefined || typeof value.inDoubt === "boolean")
  );
}

function digest(secret: string): Buffer {
  return createHash("sha256").update(secret).digest();
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
