import type { Socket } from "node:net";
import { Channel } from "./channel";
import { checkDeliver } from "./guards";
import { PEER_LINK_IDENTITY, acceptTls, peerLinkKey } from "./link-tls";
import { acceptPeer } from "./peer-auth";
import { PeerLink } from "./peer-link";
import {
  bodyType,
  type DeliverMessage,
  type DirectoryEntry,
  type MigrateCommitRequest,
  type MigrateInRequest,
  type MovedMessage,
  type ResolveReply,
} from "./protocol";
import { withTimeout, type TheaterRuntime } from "./theater-runtime";

/** A theater forwards a message at most this many times before asking the Mediator afresh. */
const MAX_FORWARD_HOPS = 16;
const PARKED_RETRY_MS = 500;
const RESOLVE_TIMEOUT_MS = 10_000;
const GOODBYE_TIMEOUT_MS = 3_000;

/** Peer links waiting for their handshake, at most (more are closed at once), and per remote address. */
const MAX_HANDSHAKING_PEER_LINKS = 256;
const MAX_HANDSHAKING_PER_ADDRESS = 64;

/**
 * Where a message goes: delivered here, forwarded along a pointer an actor left behind or the
 * directory the Mediator pushes, resolved by asking the Mediator, or parked until someone knows.
 * Never dropped. Also the peer links: outgoing ones (one per theater dialed) and the incoming
 * ones that proved the cluster peer key.
 */
export class Routing {
  /** Where actors that left this theater went. Kept so late messages are forwarded, never dropped. */
  private readonly forwarding = new Map<string, string>();
  private readonly directoryCache = new Map<string, string>();
  private readonly links = new Map<string, PeerLink>();
  /** Incoming peer connections still in the handshake. */
  private readonly handshaking = new Set<Channel>();
  private peerLinksRefusedAtCap = 0;
  private readonly incoming = new Set<Channel>();
  private readonly goodbyeWaiters = new Map<Channel, () => void>();
  /** Messages waiting for the Mediator to say where their actor lives. */
  private readonly resolving = new Map<string, DeliverMessage[]>();
  /** Messages whose actor nobody could locate yet; retried on directory updates and a timer. */
  private readonly parked = new Map<string, DeliverMessage[]>();
  private parkedRetryTimer: NodeJS.Timeout | null = null;
  /** Addresses that recently refused or dropped us, so a stale directory answer does not spin. */
  private readonly unreachableUntil = new Map<string, number>();

  constructor(private readonly rt: TheaterRuntime) {}

  get parkedMessages(): number {
    let parked = 0;
    for (const messages of this.parked.values()) parked += messages.length;
    return parked;
  }

  /** Nothing waits for a location any more. */
  get settled(): boolean {
    return this.resolving.size === 0 && this.parked.size === 0;
  }

  get parkedActors(): string[] {
    return [...this.parked.keys()];
  }

  get resolvingActors(): string[] {
    return [...this.resolving.keys()];
  }

  /** The actor lives here now: no pointer or cached location for it. */
  forget(uan: string): void {
    this.forwarding.delete(uan);
    this.directoryCache.delete(uan);
  }

  /** The actor is gone (discarded): also drop what waits for it here. */
  drop(uan: string): void {
    this.parked.delete(uan);
    this.forget(uan);
  }

  /** The actor left for `target`: late messages follow it. */
  pointTo(uan: string, target: string): void {
    this.forwarding.set(uan, target);
    this.directoryCache.set(uan, target);
  }

  /** The link to the theater the actor is believed to live on, if one was made. */
  linkFor(uan: string): PeerLink | undefined {
    const address = this.forwarding.get(uan) ?? this.directoryCache.get(uan);
    return address ? this.links.get(address) : undefined;
  }

  /**
   * Delivers locally, forwards along a pointer or the directory, or asks the Mediator. Never drops.
   * `via` is the peer that delivered to this stale locator: it is told where the actor went.
   */
  route(message: DeliverMessage, via?: Channel): void {
    if (this.rt.crashed) return;
    const cell = this.rt.cells.byUan.get(message.to);
    if (cell && !cell.incoming) {
      this.rt.mailboxes.accept(cell, message, via);
      return;
    }
    if (message.hops >= MAX_FORWARD_HOPS) {
      this.rt.log("warn", "forwarding hop limit reached; asking the mediator", { to: message.to, hops: message.hops });
      this.forget(message.to);
      this.resolveThenRoute({ ...message, hops: 0 });
      return;
    }
    const pointer = this.forwarding.get(message.to);
    const next = pointer ?? this.directoryCache.get(message.to);
    if (next && next !== this.rt.advertisedAddress && !this.isUnreachable(next)) {
      if (pointer) this.rt.counters.forwarded++;
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
    const channel = this.rt.mediator.channel;
    if (!channel) {
      this.park([message]);
      return;
    }
    this.resolving.set(message.to, [message]);
    const settle = (address: string | null) => {
      const batch = this.resolving.get(message.to) ?? [];
      this.resolving.delete(message.to);
      if (this.rt.cells.byUan.get(message.to)?.incoming === null) {
        for (const pending of batch) this.route(pending); // it arrived here meanwhile
      } else if (address && address !== this.rt.advertisedAddress && !this.isUnreachable(address)) {
        this.directoryCache.set(message.to, address);
        for (const pending of batch) this.sendToTheater(address, { ...pending, hops: pending.hops + 1 });
      } else {
        this.park(batch);
      }
    };
    channel.request<ResolveReply>({ type: "resolve", uan: message.to }, RESOLVE_TIMEOUT_MS).then(
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
      this.rt.log("warn", "no reachable location for actor yet; holding its messages", { to: uan });
    }
    if (!this.parkedRetryTimer) {
      this.parkedRetryTimer = setTimeout(() => {
        this.parkedRetryTimer = null;
        this.retryParked();
      }, PARKED_RETRY_MS);
      this.parkedRetryTimer.unref();
    }
  }

  retryParked(onlyUans?: Iterable<string>): void {
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

  sendToTheater(address: string, message: DeliverMessage): void {
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

  /** The link to another theater, made (dialed and authenticated) on first use. */
  linkTo(address: string): PeerLink {
    const existing = this.links.get(address);
    if (existing && !existing.isDead) return existing;
    const peerKey = this.rt.mediator.peerKey;
    const link: PeerLink = new PeerLink(
      address,
      peerKey ? { key: peerKey, self: { vmId: this.rt.vmId, address: this.rt.advertisedAddress } } : null,
      { onMessage: (body, channel) => this.handleLinkMessage(link, body, channel) },
      (_deadLink, unsent, reason) => {
        if (unsent.length > 0)
          this.rt.log("warn", "peer unreachable; rerouting", { peer: address, reason, messages: unsent.length });
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
      if (address !== this.rt.advertisedAddress && !this.rt.cells.byUan.has(uan)) this.directoryCache.set(uan, address);
      return;
    }
    if (bodyType(body) !== "goodbye") return;
    // The peer is stopping: never use this link again, and confirm on it (behind everything we sent).
    if (this.links.get(link.address) === link) this.links.delete(link.address);
    this.markUnreachable(link.address);
    channel.send({ type: "goodbye-ack" });
    void channel.end("peer said goodbye");
  }

  applyDirectory(entries: DirectoryEntry[]): void {
    for (const { uan, address } of entries) {
      if (address === null || address === this.rt.advertisedAddress) {
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
    this.rt.log("warn", "peer link closed: bad input", { remote: channel.remote, reason });
    channel.destroy(`bad input: ${reason}`);
  }

  /** A peer that dialed us: nothing it sends is taken before it proved the cluster peer key. */
  acceptPeer(socket: Socket): void {
    // A capped number of links may wait for their handshake, in all and per remote address.
    const from = socket.remoteAddress ?? "?";
    let fromAddress = 0;
    for (const waiting of this.handshaking) if (waiting.socket.remoteAddress === from) fromAddress++;
    if (this.handshaking.size >= MAX_HANDSHAKING_PEER_LINKS || fromAddress >= MAX_HANDSHAKING_PER_ADDRESS) {
      socket.destroy();
      this.peerLinksRefusedAtCap++;
      if (this.peerLinksRefusedAtCap % 100 === 1)
        this.rt.log("warn", "peer link refused: too many links waiting for the handshake", {
          remote: from,
          waiting: this.handshaking.size,
          fromAddress,
          refusedSoFar: this.peerLinksRefusedAtCap,
        });
      return;
    }
    // TLS on the cluster peer key first: a peer without it (or before we were admitted) gets no frame through.
    const secure = acceptTls(socket, (identity) => {
      const clusterKey = this.rt.mediator.peerKey;
      return identity === PEER_LINK_IDENTITY && clusterKey ? peerLinkKey(clusterKey) : null;
    });
    if (!this.rt.mediator.peerKey) {
      // Not admitted yet: the TLS handshake fails on its own (no key for any identity); the dialer hears why.
      secure.on("error", () => {});
      setTimeout(() => secure.destroy(), 10_000).unref();
      this.rt.log("warn", "peer link refused", { remote: from, reason: "this theater has not been admitted by a Mediator yet" });
      return;
    }
    const channel = new Channel(secure);
    if (this.rt.stopping) {
      channel.destroy("theater is stopping");
      return;
    }
    this.handshaking.add(channel);
    void channel.closed.then((reason) => {
      // Still here: it closed, or was cut off (e.g. an oversized frame), before any verdict.
      if (this.handshaking.delete(channel) && !this.rt.stopping)
        this.rt.log("warn", "peer link closed during the handshake", { remote: channel.remote, reason });
    });
    const migration = this.rt.migration;
    acceptPeer(channel, {
      key: this.rt.mediator.peerKey,
      // A link that finishes its handshake once we are stopping would deliver after our goodbyes
      // and need forwarding after our links ended: refused, its dialer routes through the Mediator.
      refuseAfterProof: () => (this.rt.stopping ? "theater is stopping" : null),
      onRefused: (reason, claimed) => {
        this.handshaking.delete(channel);
        this.rt.log("warn", "peer link refused", {
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
          // While a bundle loads for a migration's actors, its later batches and its commit wait, in order.
          onRequest: (body, self, payload): unknown =>
            this.rt.bundles.afterLoads(() => {
              const type = bodyType(body);
              if (type === "migrate-in") return migration.migrateIn(body as MigrateInRequest, self, payload);
              if (type === "migrate-commit") return migration.commitMigrateIn(body as MigrateCommitRequest, self);
              if (type === "migrate-abort") return migration.discardIncoming((cell) => cell.incoming?.channel === self);
              throw new Error(`unknown peer request ${JSON.stringify(type)}`);
            }),
          onClose: () => {
            this.incoming.delete(channel);
            this.goodbyeWaiters.get(channel)?.();
            migration.incomingLinkDropped(channel);
          },
        };
      },
    });
  }

  // ── Stopping ────────────────────────────────────────────────────────────────────────────────

  /** Every peer that connected to us confirms (on the same connection) that it sent its last message. */
  sayGoodbyeToIncoming(): Promise<unknown> {
    return Promise.all([...this.incoming].map((channel) => this.sayGoodbye(channel)));
  }

  private sayGoodbye(channel: Channel): Promise<void> {
    return withTimeout(
      new Promise<void>((resolve) => {
        this.goodbyeWaiters.set(channel, resolve);
        if (!channel.send({ type: "goodbye" })) resolve();
      }),
      GOODBYE_TIMEOUT_MS,
    ).finally(() => this.goodbyeWaiters.delete(channel));
  }

  /**
   * Closes our outgoing links gracefully (each within `timeoutMs`), and any link made meanwhile
   * (a message handed back by a link that never came up is forwarded on another).
   */
  async endLinks(timeoutMs: number): Promise<void> {
    const ended = new Set<PeerLink>();
    for (;;) {
      const next = [...this.links.values()].filter((link) => !ended.has(link));
      if (next.length === 0) return;
      for (const link of next) ended.add(link);
      await Promise.all(next.map((link) => withTimeout(link.end(), timeoutMs)));
    }
  }

  /** Cuts every incoming connection (and those still in the handshake). */
  destroyIncoming(reason: string): void {
    for (const channel of this.handshaking) channel.destroy(reason);
    for (const channel of this.incoming) channel.destroy(reason);
  }

  /** A crash, as peers see it: every link cut at once. */
  destroyAll(reason: string): void {
    this.destroyIncoming(reason);
    for (const link of this.links.values()) link.destroy(reason);
  }

  stopTimers(): void {
    if (this.parkedRetryTimer) clearTimeout(this.parkedRetryTimer);
  }
}
