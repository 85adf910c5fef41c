// Helpers for tests that run real theater processes against an in-process Mediator.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import {
  bodyType,
  connectTls,
  connectToPeer,
  mediatorLinkIdentity,
  mediatorLinkKey,
  PEER_LINK_IDENTITY,
  parseAddress,
  peerLinkKey,
  secretDigest,
  spawnLocalTheater,
  type Channel,
  type LocalTheaterProcess,
  type TheaterFault,
} from "@malleo/actors";
import { Mediator, type MediatorOptions, type ProgressEvent } from "./mediator";

/**
 * A peer connection to a theater that proves `key` like an admitted theater would (a stale
 * sender, a second stream); it records what it receives and answers goodbyes like a theater.
 */
export function connectAsPeer(address: string, key: Uint8Array, received: unknown[] = []): Promise<Channel> {
  return connectToPeer({
    address,
    key,
    self: { vmId: "test-peer", address: "127.0.0.1:1" },
    handlers: {
      onMessage: (body, channel) => {
        received.push(body);
        if (bodyType(body) === "goodbye") channel.send({ type: "goodbye-ack" });
      },
    },
  });
}

/**
 * A TLS connection to the Mediator port on the link key of `vmId` with `secret`, as a theater
 * opens it, before anything of the Malleo protocol: for tests that then send what they like.
 */
export async function mediatorTlsSocket(address: string, vmId: string, secret: string): Promise<TLSSocket> {
  const { host, port } = parseAddress(address);
  const digest = secretDigest(secret);
  const socket = connectTls({ host, port, identity: mediatorLinkIdentity(vmId, digest), key: mediatorLinkKey(vmId, digest) });
  socket.on("error", () => {}); // a reset is one way of being cut off
  await new Promise<void>((resolve, reject) => socket.once("secureConnect", resolve).once("error", reject));
  return socket;
}

/**
 * A TLS connection to a theater's peer port on the link key derived from `clusterKey`, before
 * the peer handshake: for tests that then skip or break the handshake.
 */
export async function peerTlsSocket(address: string, clusterKey: Uint8Array): Promise<TLSSocket> {
  const { host, port } = parseAddress(address);
  const socket = connectTls({ host, port, identity: PEER_LINK_IDENTITY, key: peerLinkKey(clusterKey) });
  socket.on("error", () => {}); // a reset is one way of being cut off
  await new Promise<void>((resolve, reject) => socket.once("secureConnect", resolve).once("error", reject));
  return socket;
}

/** Resolves when the socket has closed (at once if it already has). */
export function socketClosed(socket: Socket): Promise<void> {
  return new Promise((resolve) => (socket.destroyed ? resolve() : socket.once("close", () => resolve())));
}

export class TheaterLab {
  readonly mediator: Mediator;
  address = "";
  readonly logDir = mkdtempSync(path.join(tmpdir(), "malleo-theaters-"));
  private readonly processes = new Map<string, LocalTheaterProcess>();
  /** Highest iteration reported per actor, and the VM that reported it. */
  readonly progress = new Map<string, ProgressEvent>();
  readonly lost: string[] = [];
  /** What the Mediator logged. */
  readonly mediatorLog: Record<string, unknown>[] = [];

  constructor(options: MediatorOptions = {}) {
    this.mediator = new Mediator({
      ...options,
      log: (entry) => {
        this.mediatorLog.push(entry);
        options.log?.(entry);
      },
    });
    this.mediator.onProgress((event) => {
      const previous = this.progress.get(event.uan);
      if (!previous || event.iteration >= previous.iteration) this.progress.set(event.uan, event);
    });
    this.mediator.onTheaterLost((vmId) => this.lost.push(vmId));
  }

  async start(): Promise<void> {
    this.address = (await this.mediator.start()).address;
  }

  spawn(
    vmId: string,
    options: { secret?: string; expectedSecret?: string | null; fault?: TheaterFault } = {},
  ): LocalTheaterProcess {
    const secret = options.secret ?? `secret-of-${vmId}`;
    if (options.expectedSecret !== null) this.mediator.expectTheater(vmId, options.expectedSecret ?? secret);
    const theater = spawnLocalTheater({
      vmId,
      mediator: this.address,
      secret,
      logFile: this.logFile(vmId),
      fault: options.fault,
    });
    this.processes.set(vmId, theater);
    return theater;
  }

  /** Boots theaters in parallel and waits until every one has registered. */
  async boot(vmIds: string[]): Promise<void> {
    for (const vmId of vmIds) this.spawn(vmId);
    await Promise.all(vmIds.map((vmId) => this.mediator.awaitTheater(vmId, 20_000)));
  }

  logFile(vmId: string): string {
    return path.join(this.logDir, `${vmId}.log`);
  }

  log(vmId: string): string {
    try {
      return readFileSync(this.logFile(vmId), "utf8");
    } catch {
      return "";
    }
  }

  minIteration(uans: string[]): number {
    return Math.min(...uans.map((uan) => this.progress.get(uan)?.iteration ?? -1));
  }

  async cleanup(): Promise<void> {
    await this.mediator.stop();
    for (const theater of this.processes.values()) theater.kill();
    await Promise.all([...this.processes.values()].map((theater) => theater.exited));
    rmSync(this.logDir, { recursive: true, force: true });
  }
}
