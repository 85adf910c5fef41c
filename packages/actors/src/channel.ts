import type { Socket } from "node:net";
import { FrameDecoder, encodeFrame } from "./framing";

// A Channel is one framed TCP connection carrying one-way messages and request/response pairs.
// Mediator⇄theater and theater⇄theater links are both Channels, so there is one wire protocol.

type Packet =
  | { t: "msg"; body: unknown }
  | { t: "req"; id: number; body: unknown }
  | { t: "res"; id: number; ok: true; value: unknown }
  | { t: "res"; id: number; ok: false; error: string };

export class ChannelClosedError extends Error {
  constructor(
    readonly remote: string,
    reason: string,
  ) {
    super(`connection to ${remote} closed: ${reason}`);
  }
}

export class RequestTimeoutError extends Error {}

/** The other side answered the request with an error. */
export class RemoteError extends Error {}

export interface ChannelHandlers {
  onMessage?(body: unknown, channel: Channel): void;
  /** Returning (or resolving) answers the request; throwing sends the error message back. */
  onRequest?(body: unknown, channel: Channel): unknown;
  onClose?(reason: string, channel: Channel): void;
}

interface PendingRequest {
  resolve(value: unknown): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout | undefined;
}

export class Channel {
  private readonly decoder = new FrameDecoder();
  private readonly pending = new Map<number, PendingRequest>();
  private nextRequestId = 1;
  private closedReason: string | null = null;
  private handlers: ChannelHandlers;
  readonly remote: string;
  readonly closed: Promise<string>;

  constructor(
    readonly socket: Socket,
    handlers: ChannelHandlers = {},
  ) {
    this.handlers = handlers;
    this.remote = `${socket.remoteAddress ?? "?"}:${socket.remotePort ?? "?"}`;
    socket.setNoDelay(true);
    let markClosed: (reason: string) => void = () => {};
    this.closed = new Promise((resolve) => (markClosed = resolve));
    let lastError: Error | undefined;
    socket.on("data", (chunk: Buffer) => this.receive(chunk));
    socket.on("error", (error) => (lastError = error));
    socket.on("close", () => {
      const reason = this.closedReason ?? (lastError ? lastError.message : "closed by peer");
      this.closedReason = reason;
      for (const [id, request] of this.pending) {
        if (request.timer) clearTimeout(request.timer);
        request.reject(new ChannelClosedError(this.remote, reason));
        this.pending.delete(id);
      }
      markClosed(reason);
      this.handlers.onClose?.(reason, this);
    });
  }

  setHandlers(handlers: ChannelHandlers): void {
    this.handlers = handlers;
  }

  /** Largest frame payload accepted from the other side; a larger one closes the channel as corrupt. */
  set maxFramePayloadBytes(bytes: number) {
    this.decoder.maxPayloadBytes = bytes;
  }

  get isOpen(): boolean {
    return this.closedReason === null && !this.socket.destroyed;
  }

  /** One-way message. Returns false when the channel is already closed (the message is not sent). */
  send(body: unknown): boolean {
    return this.write({ t: "msg", body });
  }

  request<T = unknown>(body: unknown, timeoutMs: number): Promise<T> {
    if (!this.isOpen) return Promise.reject(new ChannelClosedError(this.remote, this.closedReason ?? "closed"));
    const id = this.nextRequestId++;
    return new Promise<T>((resolve, reject) => {
      const timer =
        timeoutMs > 0 && Number.isFinite(timeoutMs)
          ? setTimeout(() => {
              this.pending.delete(id);
              reject(new RequestTimeoutError(`request ${describe(body)} to ${this.remote} timed out after ${timeoutMs} ms`));
            }, timeoutMs)
          : undefined;
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject, timer });
      this.write({ t: "req", id, body });
    });
  }

  /** Flushes what was written, then closes; resolves once the socket is closed. */
  end(reason = "closed locally"): Promise<string> {
    if (this.closedReason === null) this.closedReason = reason;
    this.socket.end();
    return this.closed;
  }

  destroy(reason = "destroyed locally"): void {
    if (this.closedReason === null) this.closedReason = reason;
    this.socket.destroy();
  }

  private write(packet: Packet): boolean {
    if (!this.isOpen) return false;
    this.socket.write(encodeFrame(packet));
    return true;
  }

  private receive(chunk: Buffer): void {
    let packets: unknown[];
    try {
      packets = this.decoder.push(chunk);
    } catch (error) {
      this.destroy(`corrupt stream: ${(error as Error).message}`);
      return;
    }
    for (const packet of packets) this.dispatch(packet as Packet);
  }

  private dispatch(packet: Packet): void {
    switch (packet?.t) {
      case "msg":
        this.handlers.onMessage?.(packet.body, this);
        return;
      case "req":
        void this.answer(packet.id, packet.body);
        return;
      case "res": {
        const request = this.pending.get(packet.id);
        if (!request) return; // already timed out
        this.pending.delete(packet.id);
        if (request.timer) clearTimeout(request.timer);
        if (packet.ok) request.resolve(packet.value);
        else request.reject(new RemoteError(packet.error));
        return;
      }
      default:
        this.destroy("protocol violation: unknown packet");
    }
  }

  private async answer(id: number, body: unknown): Promise<void> {
    try {
      if (!this.handlers.onRequest) throw new Error(`no request handler for ${describe(body)}`);
      const value = await this.handlers.onRequest(body, this);
      this.write({ t: "res", id, ok: true, value });
    } catch (error) {
      this.write({ t: "res", id, ok: false, error: error instanceof Error ? error.message : String(error) });
    }
  }
}

function describe(body: unknown): string {
  const type = (body as { type?: unknown } | null)?.type;
  return typeof type === "string" ? `"${type}"` : "(untyped)";
}
