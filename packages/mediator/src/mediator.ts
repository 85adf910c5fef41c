import { logRecord } from "@malleo/core";
import { randomBytes } from "node:crypto";
import { createServer, type Server, type Socket } from "node:net";
import {
  Channel,
  MAX_THEATER_REPLY_FRAME_BYTES,
  MIN_PEER_KEY_BYTES,
  REGISTRATION_REFUSED_PREFIX,
  appOfUan,
  bodyType,
  isCount,
  isName,
  isNameList,
  isRecord,
  acceptTls,
  formatAddress,
  type ActorSpec,
  type CollectReply,
  type CutReply,
  type ActorProfile,
  type ActivityReply,
  type AdmitReply,
  type BundleReply,
  type MigratedActor,
  type ProfileReply,
  type MessageCountsReply,
  type ProgressItem,
  type RegisterRequest,
  type SnapshotReply,
} from "@malleo/actors";
import { Checkpoints } from "./checkpoints";
import { ActorDirectory } from "./directory";
import type {
  ActorInfo,
  MediatorLogLevel,
  MediatorOptions,
  MediatorRuntime,
  ProgressEvent,
  TheaterInfo,
} from "./mediator-runtime";
import { MigrationCoordinator } from "./migration-coordinator";
import { ReadyBarrier } from "./ready-barrier";
import { TheaterRegistry } from "./registry";

export type { ActorProfile, ActorSpec } from "@malleo/actors";
export type {
  ActorInfo,
  MediatorOptions,
  ProgressEvent,
  TheaterInfo,
  TheaterSecretStore,
  TheaterSecrets,
} from "./mediator-runtime";

/** What a connection that has not been admitted yet costs us: a timer and a slot. */
interface Unadmitted {
  address: string;
  timer: NodeJS.Timeout;
}

const STOP_TIMEOUT_MS = 20_000;
const COLLECT_ATTEMPTS = 5;

/**
 * The Mediator: the server theaters connect to over TCP, and what the lead's worker drives.
 * This file holds the server and admission (who may talk before proving a VM's secret) and
 * composes the parts, each in the file named for it: `registry.ts` (theaters), `directory.ts`
 * (UAN → VM), `ready-barrier.ts`, `migration-coordinator.ts` and `checkpoints.ts`.
 */
export class Mediator {
  private readonly options: MediatorOptions;
  private readonly rt: MediatorRuntime;
  private server: Server | null = null;
  private readonly connections = new Set<Channel>();
  private readonly progressListeners = new Set<(event: ProgressEvent) => void>();
  private readonly unadmitted = new Map<Channel, Unadmitted>();
  private readonly unadmittedByAddress = new Map<string, number>();
  /** Connections that proved a VM's secret (`admit`), and which VM. */
  private readonly admitted = new Map<Channel, string>();
  private connectionsRefused = 0;
  private tlsRefused = 0;
  private closedBeforeAdmission = 0;

  constructor(options: MediatorOptions = {}) {
    this.options = options;
    if (options.peerKey !== undefined && options.peerKey.length < MIN_PEER_KEY_BYTES)
      throw new Error(`the peer key has ${options.peerKey.length} bytes; it needs at least ${MIN_PEER_KEY_BYTES}`);
    const rt = {
      options,
      log: (level: MediatorLogLevel, msg: string, fields: Record<string, unknown> = {}) =>
        options.log?.(logRecord("mediator", level, msg, fields)),
      requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
      peerKey: options.peerKey ? Buffer.from(options.peerKey) : randomBytes(32),
      dropLink: (channel: Channel, reason: string, dropOptions?: { afterReply?: boolean }) =>
        this.dropLink(channel, reason, dropOptions),
    } as { -readonly [K in keyof MediatorRuntime]: MediatorRuntime[K] };
    rt.registry = new TheaterRegistry(rt);
    rt.directory = new ActorDirectory(rt);
    rt.ready = new ReadyBarrier(rt);
    rt.migrations = new MigrationCoordinator(rt);
    rt.checkpoints = new Checkpoints(rt);
    this.rt = rt;
  }

  /** The cluster peer key admitted theaters prove to each other (a copy). */
  get peerKey(): Buffer {
    return Buffer.from(this.rt.peerKey);
  }

  private log(level: MediatorLogLevel, msg: string, fields: Record<string, unknown> = {}): void {
    this.rt.log(level, msg, fields);
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
    if (this.options.heartbeatMs) this.rt.registry.startHeartbeat(this.options.heartbeatMs);
    return { address };
  }

  /** Closes the server and every theater connection; theaters will keep trying to reconnect. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    this.rt.registry.stopHeartbeat();
    this.rt.registry.markAllStopping();
    for (const channel of this.connections) channel.destroy("mediator stopped");
    this.rt.ready.failAll(new Error("mediator stopped"));
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
    this.rt.registry.expectTheater(vmId, secret, options);
  }

  /**
   * `expectTheater` for a theater that may have registered before (a worker restart or takeover
   * adopting it): if the secret store holds secrets rotated from this boot secret, those are
   * expected instead, and the boot secret is refused.
   */
  readmitTheater(vmId: string, bootSecret: string, options: { actors?: Iterable<string> } = {}): Promise<void> {
    return this.rt.registry.readmitTheater(vmId, bootSecret, options);
  }

  /**
   * Connections waiting for admission now, refused at the cap, refused by TLS (no handshake on a
   * VM's key), and closed for bad input before admission.
   */
  admissionStats(): { waiting: number; refusedAtCap: number; refusedTls: number; closedBeforeAdmission: number } {
    return {
      waiting: this.unadmitted.size,
      refusedAtCap: this.connectionsRefused,
      refusedTls: this.tlsRefused,
      closedBeforeAdmission: this.closedBeforeAdmission,
    };
  }

  theater(vmId: string): TheaterInfo | undefined {
    return this.rt.registry.theater(vmId);
  }

  awaitTheater(vmId: string, timeoutMs: number): Promise<TheaterInfo> {
    return this.rt.registry.awaitTheater(vmId, timeoutMs);
  }

  onProgress(callback: (event: ProgressEvent) => void): () => void {
    this.progressListeners.add(callback);
    return () => this.progressListeners.delete(callback);
  }

  onTheaterLost(callback: (vmId: string) => void): () => void {
    return this.rt.registry.onTheaterLost(callback);
  }

  // ── Admission ─────────────────────────────────────────────────────────────────────────────

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
    // TLS first, on the key of the VM the client names (link-tls.ts): no key, no frame.
    const secure = acceptTls(socket, (identity) => this.rt.registry.linkKeyFor(identity));
    let secured = false;
    secure.once("secure", () => (secured = true));
    secure.once("close", () => {
      if (!secured) this.refusedTls(address);
    });
    const channel = new Channel(secure);
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

  /** A connection that never completed the TLS handshake (plain TCP, an unknown VM, a wrong key, or too slow). */
  private refusedTls(remote: string): void {
    this.tlsRefused++;
    // The first 20, then one line per 100: a flood must not become a flood of logs.
    if (this.tlsRefused <= 20 || this.tlsRefused % 100 === 0)
      this.log("warn", "connection refused: no TLS handshake on a VM's key", { remote, soFar: this.tlsRefused });
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
    if (type === "register") return this.rt.registry.register(body as RegisterRequest, channel, this.admitted.get(channel));
    if (!this.rt.registry.vmOf(channel)) throw new Error("not registered");
    if (type === "secret-adopted") return this.rt.registry.confirmRotation(channel);
    if (type === "bundle") return this.serveBundle(body, channel);
    if (type === "resolve") {
      const resolved = this.rt.directory.resolve((body as { uan?: unknown }).uan);
      if (!resolved) {
        this.dropLink(channel, "resolve without a UAN", { afterReply: true });
        throw new Error("malformed resolve");
      }
      return resolved;
    }
    const reason = `unknown request ${JSON.stringify(type?.slice(0, 100) ?? "untyped")}`;
    this.dropLink(channel, reason, { afterReply: true });
    throw new Error(reason);
  }

  /** A theater lacks an application's behaviors: the bundle that application runs, or why not. */
  private async serveBundle(body: unknown, channel: Channel): Promise<BundleReply> {
    const vmId = this.rt.registry.vmOf(channel)!;
    const applicationId = isRecord(body) && isName(body.applicationId) ? body.applicationId : undefined;
    if (!applicationId) throw new Error("malformed bundle request");
    if (!this.options.bundleFor) throw new Error(`this Mediator delivers no bundles (asked for ${applicationId}'s)`);
    const bundle = await this.options.bundleFor(applicationId, vmId);
    if (!bundle) throw new Error(`application ${applicationId} runs no registered bundle`);
    this.log("info", "bundle delivered", {
      vmId,
      applicationId,
      kind: bundle.kind,
      version: bundle.version,
      bytes: bundle.bytes.byteLength,
    });
    this.rt.registry.bundleSent(channel);
    return bundle;
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
    const secretRefused = this.rt.registry.whySecretRefused(vmId, request.secret);
    if (secretRefused) return refuse(secretRefused);
    this.leaveUnadmitted(channel);
    this.admitted.set(channel, vmId);
    // Up to the largest reply a theater sends (a snapshot of its actors); never a raw payload.
    channel.trust({ frameBytes: MAX_THEATER_REPLY_FRAME_BYTES, rawPayloadFrameBytes: 0 });
    return { admitted: true };
  }

  private handleTheaterMessage(body: unknown, channel: Channel): void {
    const vmId = this.rt.registry.vmOf(channel);
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
        if (this.rt.directory.get(item.uan)?.vmId !== vmId && !this.rt.migrations.isMigrating(item.uan)) continue;
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
      this.rt.ready.markReady(vmId, uans);
    } else {
      this.dropLink(channel, `unknown message ${JSON.stringify(type?.slice(0, 100) ?? "untyped")}`);
    }
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
    this.rt.registry.disconnected(channel, reason);
  }

  // ── Directory ─────────────────────────────────────────────────────────────────────────────

  listActors(vmId?: string): ActorInfo[] {
    return this.rt.directory.listActors(vmId);
  }

  spawnActors(vmId: string, specs: ActorSpec[]): Promise<void> {
    return this.rt.directory.spawnActors(vmId, specs);
  }

  /** Delivers an application message to an actor from outside (sender null). */
  sendMessage(uan: string, body: unknown): void {
    const entry = this.rt.directory.get(uan);
    if (!entry) throw new Error(`unknown actor ${uan}`);
    this.rt.registry.connected(entry.vmId).channel.send({ type: "deliver", to: uan, from: null, body, hops: 0 });
  }

  // ── Ready barrier ─────────────────────────────────────────────────────────────────────────

  /**
   * Asks the actors to hold at their next safe point and waits until they all do or `timeoutMs`
   * passes. Actors that are not on this VM are reported not ready. They stay held until `resume`.
   */
  awaitReady(vmId: string, uans: string[] | "all", timeoutMs: number): Promise<{ ready: string[]; notReady: string[] }> {
    return this.rt.ready.awaitReady(vmId, uans, timeoutMs);
  }

  resume(vmId: string, uans?: string[]): Promise<void> {
    return this.rt.ready.resume(vmId, uans);
  }

  // ── Migration ─────────────────────────────────────────────────────────────────────────────

  /**
   * Moves actors (held at their safe point, or held on the way) from one theater to another.
   * Resolves after the target acknowledged and every theater acknowledged the new locations.
   * The actors arrive held: call `resume` on the target. On failure they stay on the source, held.
   */
  migrate(
    uans: string[],
    fromVmId: string,
    toVmId: string,
    options: { resumeOnArrival?: boolean } = {},
  ): Promise<{ moved: number; bytes: number; holdMs: number[] }> {
    return this.rt.migrations.migrate(uans, fromVmId, toVmId, options);
  }

  // ── Activity ──────────────────────────────────────────────────────────────────────────────

  /** When the actors of each VM made progress over [fromMs, toMs) (epoch ms); VMs without a theater are left out. */
  async activity(vmIds: string[], fromMs: number, toMs: number): Promise<ActivityReply[]> {
    const replies = await Promise.all(
      vmIds.map(async (vmId) => {
        const record = this.rt.registry.record(vmId);
        if (!record?.channel.isOpen) return null;
        return record.channel
          .request<ActivityReply>({ type: "activity", fromMs, toMs }, this.rt.requestTimeoutMs)
          .catch(() => null);
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
    const vmIds = vmId === undefined ? this.rt.registry.vmIds() : [vmId];
    const profiles = await Promise.all(
      vmIds.map(async (id) => {
        const reply = await this.rt.registry
          .connected(id)
          .channel.request<ProfileReply>({ type: "profile" }, this.rt.requestTimeoutMs);
        return reply.actors.map((actor) => ({ ...actor, vmId: id }));
      }),
    );
    return profiles.flat().sort((a, b) => a.uan.localeCompare(b.uan));
  }

  /**
   * Each actor's messages sent per receiver on the given VMs' theaters, with the VM it runs on:
   * the counters alone, cheap enough to sample every few seconds. A VM whose theater is not
   * connected or does not answer in time is left out (its actors are missing from the answer).
   */
  async messageCounts(vmIds: string[]): Promise<Array<{ uan: string; vmId: string; sentTo: Record<string, number> }>> {
    const replies = await Promise.all(
      vmIds.map(async (vmId) => {
        const record = this.rt.registry.record(vmId);
        if (!record?.channel.isOpen) return [];
        const reply = await record.channel
          .request<MessageCountsReply>({ type: "message-counts" }, this.rt.requestTimeoutMs)
          .catch(() => null);
        return (reply?.actors ?? []).map((actor) => ({ ...actor, vmId }));
      }),
    );
    return replies.flat();
  }

  // ── Results and shutdown ──────────────────────────────────────────────────────────────────

  /** A snapshot of each actor's state, taken between two of its handler calls. */
  async collectStates(uans: string[]): Promise<Map<string, unknown>> {
    const collected = new Map<string, unknown>();
    let remaining = [...new Set(uans)];
    for (let attempt = 1; remaining.length > 0; attempt++) {
      const byVm = new Map<string, string[]>();
      for (const uan of remaining) {
        const entry = this.rt.directory.get(uan);
        if (!entry) throw new Error(`unknown actor ${uan}`);
        byVm.set(entry.vmId, [...(byVm.get(entry.vmId) ?? []), uan]);
      }
      const missing: string[] = [];
      await Promise.all(
        [...byVm].map(async ([vmId, group]) => {
          const reply = await this.rt.registry
            .connected(vmId)
            .channel.request<CollectReply>({ type: "collect", uans: group }, this.rt.requestTimeoutMs);
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
  snapshotActors(vmId: string, uans: string[]): Promise<SnapshotReply> {
    return this.rt.checkpoints.snapshotActors(vmId, uans);
  }

  /**
   * The delivery counters of actors of one VM, for a consistent cut; with `keep`, the theater
   * copies them at once and keeps the copy (`fetchKept` brings it), so they may run again first.
   */
  cutActors(vmId: string, uans: string[], keep?: string): Promise<CutReply> {
    return this.rt.checkpoints.cutActors(vmId, uans, keep);
  }

  /** The copy `cutActors(…, keep)` took on that VM, once. */
  fetchKept(vmId: string, token: string, uans: string[]): Promise<MigratedActor[]> {
    return this.rt.checkpoints.fetchKept(vmId, token, uans);
  }

  /**
   * Drops actors wherever they are (a theater that hosts one deletes it; every theater forgets
   * messages parked for them) and from the directory: their application is about to be restored.
   */
  discardActors(uans: string[]): Promise<void> {
    return this.rt.checkpoints.discardActors(uans);
  }

  /** Installs actors from a checkpoint on one VM, running (`seqBase`: see the theater's restore). */
  restoreActors(vmId: string, actors: MigratedActor[], seqBase: number): Promise<void> {
    return this.rt.checkpoints.restoreActors(vmId, actors, seqBase);
  }

  /**
   * Graceful stop: the theater lets its peers finish sending to it, forwards anything pending,
   * and exits; the Mediator forgets the VM (its secret too). Refuses while actors still live
   * there, unless `force` (their directory entries are then dropped: they are gone).
   */
  async stopTheater(vmId: string, options: { force?: boolean } = {}): Promise<void> {
    const hosted = this.listActors(vmId).map((actor) => actor.uan);
    if (hosted.length > 0 && !options.force) {
      throw new Error(
        `VM ${vmId} still hosts ${hosted.length} actors (${hosted.slice(0, 3).join(", ")}${hosted.length > 3 ? ", …" : ""}); migrate them first`,
      );
    }
    for (const uan of hosted) this.rt.directory.delete(uan);
    this.rt.registry.forgetVm(vmId);
    const record = this.rt.registry.unregisterForStop(vmId);
    if (!record) return;
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

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
