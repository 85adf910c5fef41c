import { Channel, type ChannelHandlers } from "./channel";
import { connectToPeer, type PeerIdentity } from "./peer-auth";

/**
 * An outgoing connection to another theater. It carries traffic only after the peer handshake
 * (see peer-auth.ts). Bodies sent before the link is up are queued;
 * if it never comes up they are handed back (`onUnsent`) so the theater can route them elsewhere.
 */
export class PeerLink {
  private channel: Channel | null = null;
  private queue: unknown[] = [];
  private failed = false;
  readonly connected: Promise<Channel>;

  constructor(
    readonly address: string,
    /** The cluster peer key and who we are; null while this theater has not been admitted (the link fails). */
    auth: { key: Uint8Array; self: PeerIdentity } | null,
    handlers: ChannelHandlers,
    onUnsent: (link: PeerLink, bodies: unknown[], reason: string) => void,
    onClosed: (link: PeerLink, reason: string) => void,
  ) {
    this.connected = auth
      ? connectToPeer({
          address,
          key: auth.key,
          self: auth.self,
          handlers: {
            ...handlers,
            onClose: (reason, closedChannel) => {
              this.failed = true;
              handlers.onClose?.(reason, closedChannel);
              onClosed(this, reason);
            },
          },
        })
      : Promise.reject(new Error("this theater has not been admitted by a Mediator yet: no peer key"));
    this.connected.then(
      (channel) => {
        this.channel = channel;
        if (!channel.isOpen) {
          // Closed between the handshake and now: hand the queue back rather than lose it.
          const unsent = this.queue;
          this.queue = [];
          onUnsent(this, unsent, "link closed right after the handshake");
          return;
        }
        for (const body of this.queue) channel.send(body);
        this.queue = [];
      },
      (error: Error) => {
        this.failed = true;
        const unsent = this.queue;
        this.queue = [];
        onUnsent(this, unsent, error.message);
        onClosed(this, error.message);
      },
    );
  }

  /** Bytes written but not yet accepted by the kernel: how far the peer is behind. */
  get pendingBytes(): number {
    return this.channel?.socket.writableLength ?? 0;
  }

  /** Calls `callback` once the pending bytes have been handed to the kernel (at once if none). */
  onDrained(callback: () => void): void {
    const socket = this.channel?.socket;
    if (!socket || socket.writableLength === 0 || this.failed) callback();
    else {
      socket.once("drain", callback);
      socket.once("close", callback);
    }
  }

  get isDead(): boolean {
    return this.failed;
  }

  /** Queues or sends `body`; false when the link is dead and the body was not taken. */
  send(body: unknown): boolean {
    if (this.failed) return false;
    if (this.channel) return this.channel.send(body);
    this.queue.push(body);
    return true;
  }

  end(): Promise<unknown> {
    if (this.channel) return this.channel.end("link closed by owner");
    return this.connected.then(
      (channel) => channel.end("link closed by owner"),
      () => undefined,
    );
  }

  destroy(reason: string): void {
    this.channel?.destroy(reason);
  }
}
