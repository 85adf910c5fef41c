import { randomBytes, timingSafeEqual } from "node:crypto";
import {
  REGISTRATION_REFUSED_PREFIX,
  RequestTimeoutError,
  isCount,
  isHostedActorList,
  isName,
  isRecord,
  mediatorLinkKey,
  parseAddress,
  parseMediatorLinkIdentity,
  parseUan,
  secretDigest,
  secretKeyId,
  unmatchableKey,
  type Channel,
  type RegisterReply,
  type RegisterRequest,
} from "@malleo/actors";
import type { MediatorRuntime, TheaterInfo, TheaterRecord, TheaterSecrets } from "./mediator-runtime";

/**
 * The theater registry: which VMs may register (their secrets and the actors placed on them),
 * which theater is registered for each VM and on which connection, registration itself,
 * waiting for a theater, losing one, and the heartbeat that notices a hung one.
 */
export class TheaterRegistry {
  /** Per VM: the digest of its boot secret, and the digests a theater may prove now (newest first). */
  private readonly expectedSecrets = new Map<string, TheaterSecrets>();
  private readonly theaters = new Map<string, TheaterRecord>();
  private readonly vmOfChannel = new Map<Channel, string>();
  private readonly registrationWaiters = new Map<string, Set<(info: TheaterInfo) => void>>();
  private readonly lostListeners = new Set<(vmId: string) => void>();
  /** Per VM, the actors it may bring in at registration besides those the directory puts there. */
  private readonly placements = new Map<string, Set<string>>();
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private readonly pinging = new Set<Channel>();
  /** Until when a connection's missed heartbeats are forgiven: it was just sent a bundle to import. */
  private readonly loadingBundle = new WeakMap<Channel, number>();

  constructor(private readonly rt: MediatorRuntime) {}

  /** See Mediator.expectTheater. */
  expectTheater(vmId: string, secret: string, options: { actors?: Iterable<string> } = {}): void {
    if (!vmId || !secret) throw new Error("expectTheater needs a VM id and a non-empty secret");
    const boot = secretDigest(secret);
    this.expectedSecrets.set(vmId, { boot, accepted: [boot] });
    if (options.actors !== undefined) this.placements.set(vmId, new Set(options.actors));
    else this.placements.delete(vmId);
  }

  /** See Mediator.readmitTheater. */
  async readmitTheater(vmId: string, bootSecret: string, options: { actors?: Iterable<string> } = {}): Promise<void> {
    this.expectTheater(vmId, bootSecret, options);
    const store = this.rt.options.secretStore;
    if (!store) return;
    const boot = secretDigest(bootSecret);
    const stored = await store.load(vmId);
    // Rotations of another theater of this VM (another boot secret) are stale: the boot secret counts.
    if (stored && stored.boot.equals(boot) && stored.accepted.length > 0)
      this.expectedSecrets.set(vmId, { boot, accepted: stored.accepted.map((digest) => Buffer.from(digest)) });
  }

  /**
   * After a registration proved `proven`: a fresh secret for the VM, accepted beside the proven
   * one until the theater confirms it (`secret-adopted`), and saved first (a restarted worker must
   * know it). Null when secrets are not rotated (no store) or the save failed (the old one stays).
   */
  private async rotate(vmId: string, proven: Buffer): Promise<string | null> {
    const store = this.rt.options.secretStore;
    const expected = this.expectedSecrets.get(vmId);
    if (!store || !expected) return null;
    const fresh = randomBytes(24).toString("hex");
    const next: TheaterSecrets = { boot: expected.boot, accepted: [secretDigest(fresh), proven] };
    try {
      await store.save(vmId, next);
    } catch (error) {
      this.rt.log("error", "could not save a rotated secret; the theater keeps its secret", {
        vmId,
        error: (error as Error).message,
      });
      return null;
    }
    if (this.expectedSecrets.get(vmId) !== expected) return null; // the VM was forgotten or re-expected meanwhile
    this.expectedSecrets.set(vmId, next);
    return fresh;
  }

  /** The theater on `channel` holds its new secret: the one it registered with is refused from now on. */
  async confirmRotation(channel: Channel): Promise<Record<string, never>> {
    const vmId = this.vmOfChannel.get(channel);
    const expected = vmId ? this.expectedSecrets.get(vmId) : undefined;
    const store = this.rt.options.secretStore;
    if (!vmId || !expected || !store) throw new Error("no secret to confirm");
    const next: TheaterSecrets = { boot: expected.boot, accepted: expected.accepted.slice(0, 1) };
    await store.save(vmId, next);
    if (this.expectedSecrets.get(vmId) === expected) this.expectedSecrets.set(vmId, next);
    this.rt.log("info", "theater secret rotated", { vmId });
    return {};
  }

  /**
   * The Mediator-link TLS key for a PSK identity (`<vmId> <key id>`): null for a VM nobody
   * expects (the client hears "unknown identity"); a key that matches nothing for a known VM
   * with another key id (it hears "wrong key").
   */
  linkKeyFor(identity: string): Buffer | null {
    const parsed = parseMediatorLinkIdentity(identity);
    const expected = parsed ? this.expectedSecrets.get(parsed.vmId) : undefined;
    if (!parsed || !expected) return null;
    const digest = expected.accepted.find((candidate) => secretKeyId(candidate) === parsed.keyId);
    return digest ? mediatorLinkKey(parsed.vmId, digest) : unmatchableKey();
  }

  /** Null when `secret` is the one expected for `vmId`; why not otherwise. */
  whySecretRefused(vmId: string, secret: string): string | null {
    const expected = this.expectedSecrets.get(vmId);
    if (!expected) return `no theater is expected for VM ${vmId}`;
    const given = secretDigest(secret);
    if (!expected.accepted.some((digest) => timingSafeEqual(digest, given))) return `wrong secret for VM ${vmId}`;
    return null;
  }

  /** The VM is gone: no theater may register for it any more. */
  forgetVm(vmId: string): void {
    this.expectedSecrets.delete(vmId);
    this.placements.delete(vmId);
  }

  theater(vmId: string): TheaterInfo | undefined {
    const info = this.theaters.get(vmId)?.info;
    return info ? { ...info } : undefined;
  }

  /** The registered theater of `vmId`, connected or not. */
  record(vmId: string): TheaterRecord | undefined {
    return this.theaters.get(vmId);
  }

  /** Every registered theater. */
  records(): TheaterRecord[] {
    return [...this.theaters.values()];
  }

  vmIds(): string[] {
    return [...this.theaters.keys()];
  }

  /** The VM whose registered theater this connection is; undefined if it is not one. */
  vmOf(channel: Channel): string | undefined {
    return this.vmOfChannel.get(channel);
  }

  /** The registered, connected theater of `vmId`, or an error. */
  connected(vmId: string): TheaterRecord {
    const record = this.theaters.get(vmId);
    if (!record || !record.channel.isOpen) throw new Error(`VM ${vmId} has no registered theater`);
    return record;
  }

  /** Whether `vmId` has a registered theater whose connection is open. */
  isConnected(vmId: string): boolean {
    return this.theaters.get(vmId)?.channel.isOpen === true;
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

  onTheaterLost(callback: (vmId: string) => void): () => void {
    this.lostListeners.add(callback);
    return () => this.lostListeners.delete(callback);
  }

  /**
   * A theater on a connection admitted for `admittedVm` registers, bringing the actors it hosts
   * (after a Mediator restart): only those placed on its VM enter the directory.
   */
  async register(request: RegisterRequest, channel: Channel, admittedVm: string | undefined): Promise<RegisterReply> {
    const rt = this.rt;
    const refuse = (reason: string): never => {
      rt.log("warn", "theater registration refused", {
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
    if (request.vmId !== admittedVm) return refuse(`this connection was admitted for another VM`);
    try {
      parseAddress(request.address);
    } catch {
      return refuse(`malformed address ${JSON.stringify(request.address)}`);
    }
    const secretRefused = this.whySecretRefused(request.vmId, request.secret);
    if (secretRefused) return refuse(secretRefused);
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
    // A theater that re-registers after a Mediator restart brings its actors back into the
    // directory — only those placed on its VM.
    const refused: Array<{ uan: string; reason: string }> = [];
    for (const actor of request.actors) {
      const reason = this.whyNotHere(actor.uan, info.vmId);
      if (reason === null) rt.directory.recordActor(actor, info.vmId);
      else refused.push({ uan: actor.uan, reason });
    }
    if (refused.length > 0)
      rt.log("warn", "actors refused at registration: not placed on this VM", {
        vmId: info.vmId,
        remote: channel.remote,
        count: refused.length,
        first: refused.slice(0, 5),
      });
    rt.log("info", "theater registered", {
      vmId: info.vmId,
      address: info.address,
      pid: info.pid,
      actors: request.actors.length - refused.length,
    });
    const waiters = this.registrationWaiters.get(info.vmId);
    this.registrationWaiters.delete(info.vmId);
    for (const waiter of waiters ?? []) waiter(info);
    const reply: RegisterReply = { accepted: true, peerKey: rt.peerKey };
    const mediators = this.failoverAddresses();
    if (mediators) reply.mediators = mediators;
    const fresh = await this.rotate(info.vmId, secretDigest(request.secret));
    if (fresh) reply.secret = fresh;
    return reply;
  }

  private failoverAddresses(): string[] | undefined {
    if (!this.rt.options.mediatorAddresses) return undefined;
    try {
      const addresses = this.rt.options.mediatorAddresses();
      for (const address of addresses) parseAddress(address);
      return addresses.length > 0 ? addresses : undefined;
    } catch (error) {
      this.rt.log("error", "mediatorAddresses failed; theaters keep their list", { error: (error as Error).message });
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
    const entry = this.rt.directory.get(uan);
    if (entry?.vmId === vmId) return null;
    if (entry && this.isConnected(entry.vmId)) return `lives on VM ${entry.vmId}`;
    const placed = this.placements.get(vmId);
    if (placed && !placed.has(uan)) return "not placed on this VM";
    return null;
  }

  /** The connection closed: if it was a registered theater's, that theater is gone (and lost, unless stopping). */
  disconnected(channel: Channel, reason: string): void {
    const vmId = this.vmOfChannel.get(channel);
    this.vmOfChannel.delete(channel);
    if (!vmId) return;
    const record = this.theaters.get(vmId);
    if (!record || record.channel !== channel) return;
    this.theaters.delete(vmId);
    this.rt.ready.theaterGone(vmId, new Error(`theater of VM ${vmId} disconnected: ${reason}`));
    if (record.stopping) return;
    // The directory keeps its actors: they are lost only if the theater never comes back.
    this.rt.log("warn", "theater lost", { vmId, reason });
    for (const listener of this.lostListeners) {
      try {
        listener(vmId);
      } catch (error) {
        this.rt.log("error", "theater-lost listener threw", { error: (error as Error).message });
      }
    }
  }

  /** The theater is being stopped: its disconnect is expected, and it is registered no more. */
  unregisterForStop(vmId: string): TheaterRecord | undefined {
    const record = this.theaters.get(vmId);
    if (!record) return undefined;
    record.stopping = true;
    this.theaters.delete(vmId);
    return record;
  }

  /** The Mediator stops: every coming disconnect is expected. */
  markAllStopping(): void {
    for (const record of this.theaters.values()) record.stopping = true;
  }

  // ── Heartbeat ─────────────────────────────────────────────────────────────────────────────

  startHeartbeat(intervalMs: number): void {
    this.heartbeatTimer = setInterval(() => this.heartbeat(), intervalMs);
    this.heartbeatTimer.unref();
  }

  stopHeartbeat(): void {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
  }

  /** The theater on `channel` was just sent a bundle: it may not answer while it imports it. */
  bundleSent(channel: Channel): void {
    this.loadingBundle.set(channel, Date.now() + (this.rt.options.bundleLoadGraceMs ?? 60_000));
  }

  private heartbeat(): void {
    const timeoutMs = this.rt.options.heartbeatTimeoutMs ?? 5_000;
    for (const record of this.theaters.values()) {
      const channel = record.channel;
      if (this.pinging.has(channel) || !channel.isOpen) continue;
      this.pinging.add(channel);
      channel
        .request({ type: "directory", entries: [] }, timeoutMs)
        .catch((error: unknown) => {
          if (!(error instanceof RequestTimeoutError) || !channel.isOpen) return;
          if (Date.now() < (this.loadingBundle.get(channel) ?? 0)) {
            this.rt.log("info", "theater loading a bundle missed a heartbeat; its connection stays", {
              vmId: record.info.vmId,
              timeoutMs,
            });
            return;
          }
          this.rt.log("warn", "theater did not answer a heartbeat; closing its connection", {
            vmId: record.info.vmId,
            timeoutMs,
          });
          channel.destroy(`no answer to a heartbeat within ${timeoutMs} ms`);
        })
        .finally(() => this.pinging.delete(channel));
    }
  }
}
