import { connect } from "node:net";
import { Channel, type ChannelHandlers } from "./channel";
import { parseAddress } from "./names";

/**
 * An outgoing connection to another theater. Bodies sent before the connection is up are queued;
 * if it never comes up they are handed back (`onUnsent`) so the theater can route them elsewhere.
 */
export class PeerLink {
  private channel: Channel | null = null;
  private queue: unknown[] = [];
  private failed = false;
  readonly connected: Promise<Channel>;

  constructor(
    readonly address: string,
    handlers: ChannelHandlers,
    onUnsent: (link: PeerLink, bodies: unknown[], reason: string) => void,
    onClosed: (link: PeerLink, reason: string) => void,
  ) {
    const { host, port } = parseAddress(address);
    this.connected = new Promise<Channel>((resolve, reject) => {
      const socket = connect({ host, port });
      const failBeforeConnect = (error: Error) => {
        this.failed = true;
        const unsent = this.queue;
        this.queue = [];
        reject(error);
        onUnsent(this, unsent, error.message);
        onClosed(this, error.message);
      };
      socket.once("error", failBeforeConnect);
      socket.once("connect", () => {
        socket.off("error", failBeforeConnect);
        const channel = new Channel(socket, {
          ...handlers,
          onClose: (reason, closedChannel) => {
            this.failed = true;
            handlers.onClose?.(reason, closedChannel);
            onClosed(this, reason);
          },
        });
        this.channel = channel;
        for (const body of this.queue) channel.send(body);
        this.queue = [];
        resolve(channel);
      });
    });
    this.connected.catch(() => {}); // failures are reported through onUnsent/onClosed
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
