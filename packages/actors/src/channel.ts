import type { Socket } from "node:net";
import {
  FrameDecoder,
  FrameTooLargeError,
  FrameWithPayload,
  MAX_FRAME_PAYLOAD_BYTES,
  UNTRUSTED_MAX_FRAME_PAYLOAD_BYTES,
  decodeFrame,
  encodeFrame,
  encodeFrameHead,
  encodeJsonFrame,
  type ChunkedBytes,
} from "./framing";

// A Channel is one framed TCP connection carrying one-way messages and request/response pairs.
// Mediator⇄theater and theater⇄theater links are both Channels, so there is one wire protocol.
// A message or request may carry a raw payload beside its body (bulk bytes such as a migration
// batch): its chunks are written to the socket as they are, and the receiver's handler gets
// views of those bytes in the reads they arrived in.

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

/** Raw bytes sent beside a body, as chunks written back to back. */
export type RawPayload = readonly Uint8Array[];

export interface ChannelHandlers {
  /** `payload`: the raw payload the sender attached, if any (views of the received bytes). */
  onMessage?(body: unknown, channel: Channel, payload?: ChunkedBytes): void;
  /** Returning (or resolving) answers the request; throwing sends the error message back. */
  onRequest?(body: unknown, channel: Channel, payload?: ChunkedBytes): unknown;
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
  /** Until trusted: only JSON frames are decoded; a structured-clone frame closes the channel. */
  private jsonOnly = false;
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

  /**
   * For a link whose peer is not authenticated yet: only JSON frames of at most `maxBytes` are
   * taken (anything else closes the channel as a protocol violation) until `trust()`. Frames are
   * decoded one at a time, so a `trust()` from a handler applies to the very next frame.
   */
  requireJsonUntilTrusted(maxBytes = UNTRUSTED_MAX_FRAME_PAYLOAD_BYTES): void {
    this.jsonOnly = true;
    this.decoder.maxPayloadBytes = maxBytes;
    this.decoder.maxRawPayloadBytes = maxBytes;
  }

  /**
   * The peer is authenticated: structured-clone frames from now on, up to `limits` (the largest
   * message that link legitimately carries; see framing.ts): `frameBytes` for a frame without a
   * raw payload, `rawPayloadFrameBytes` for one with (0: refused). A larger one closes the link.
   */
  trust(limits: { frameBytes?: number; rawPayloadFrameBytes?: number } = {}): void {
    this.jsonOnly = false;
    this.decoder.maxPayloadBytes = limits.frameBytes ?? MAX_FRAME_PAYLOAD_BYTES;
    this.decoder.maxRawPayloadBytes = limits.rawPayloadFrameBytes ?? MAX_FRAME_PAYLOAD_BYTES;
  }

  get trusted(): boolean {
    return !this.jsonOnly;
  }

  get isOpen(): boolean {
    return this.closedReason === null && !this.socket.destroyed;
  }

  /**
   * One-way message, with an optional raw payload. Returns false when the channel is already
   * closed (the message is not sent).
   */
  send(body: unknown, payload?: RawPayload): boolean {
    return this.write({ t: "msg", body }, payload);
  }

  /** One-way message as a JSON frame (readable by a peer that does not trust us yet). */
  sendJson(body: unknown): boolean {
    return this.write({ t: "msg", body }, undefined, true);
  }

  /** A request as a JSON frame; the answer comes back as JSON too. */
  requestJson<T = unknown>(body: unknown, timeoutMs: number): Promise<T> {
    return this.request<T>(body, timeoutMs, undefined, true);
  }

  /**
   * A request, with an optional raw payload: its chunks must not change until the reply (or the
   * channel's close) since they are written as they are, not copied. `json`: as a JSON frame (no
   * raw payload then), answered as JSON too.
   */
  request<T = unknown>(body: unknown, timeoutMs: number, payload?: RawPayload, json = false): Promise<T> {
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
      this.write({ t: "req", id, body }, payload, json);
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

  /** A JSON frame when `json` (which cannot carry a raw payload); else V8, with the raw payload if any. */
  private write(packet: Packet, payload?: RawPayload, json = false): boolean {
    if (!this.isOpen) return false;
    if (json) {
      if (payload) throw new Error("a JSON frame cannot carry a raw payload");
      this.socket.write(encodeJsonFrame(packet));
      return true;
    }
    if (!payload) {
      this.socket.write(encodeFrame(packet));
      return true;
    }
    let payloadBytes = 0;
    for (const chunk of payload) payloadBytes += chunk.byteLength;
    const head = encodeFrameHead(packet, payloadBytes);
    // Corked: the head and every chunk leave in one writev, without being copied into a frame.
    this.socket.cork();
    try {
      this.socket.write(head);
      for (const chunk of payload) if (chunk.byteLength > 0) this.socket.write(chunk);
    } finally {
      this.socket.uncork();
    }
    return true;
  }

  private receive(chunk: Buffer): void {
    try {
      for (const frame of this.decoder.pushRaw(chunk)) {
        if (!this.isOpen) return;
        if (!frame.json && this.jsonOnly) {
          // A raw-payload frame too (its envelope is a structured clone): refused unread.
          this.destroy("protocol violation: a structured-clone frame before the peer was authenticated");
          return;
        }
        let packet: unknown;
        try {
          packet = decodeFrame(frame);
        } catch (error) {
          this.destroy(`corrupt frame: ${(error as Error).message}`);
          return;
        }
        if (packet instanceof FrameWithPayload) this.dispatch(packet.value as Packet, false, packet.payload);
        else this.dispatch(packet as Packet, frame.json);
      }
    } catch (error) {
      // A corrupt header, or (last resort) a handler that threw: this link goes, the process stays.
      this.destroy(
        error instanceof FrameTooLargeError || error instanceof RangeError
          ? `corrupt stream: ${(error as Error).message}`
          : `handler failed: ${(error as Error)?.message ?? String(error)}`,
      );
    }
  }

  private dispatch(packet: Packet, json: boolean, payload?: ChunkedBytes): void {
    if (typeof packet !== "object" || packet === null) {
      this.destroy("protocol violation: a packet that is not an object");
      return;
    }
    switch (packet.t) {
      case "msg":
        this.handlers.onMessage?.(packet.body, this, payload);
        return;
      case "req":
        if (!Number.isSafeInteger(packet.id)) {
          this.destroy("protocol violation: a request without a numeric id");
          return;
        }
        void this.answer(packet.id, packet.body, json, payload);
        return;
      case "res": {
        const request = this.pending.get(packet.id);
        if (!request) return; // already timed out
        this.pending.delete(packet.id);
        if (request.timer) clearTimeout(request.timer);
        if (packet.ok === true) request.resolve(packet.value);
        else request.reject(new RemoteError(typeof packet.error === "string" ? packet.error : "malformed error reply"));
        return;
      }
      default:
        this.destroy("protocol violation: unknown packet");
    }
  }

  private async answer(id: number, body: unknown, json: boolean, payload?: ChunkedBytes): Promise<void> {
    try {
      if (!this.handlers.onRequest) throw new Error(`no request handler for ${describe(body)}`);
      const value = await this.handlers.onRequest(body, this, payload);
      this.write({ t: "res", id, ok: true, value }, undefined, json);
    } catch (error) {
      this.write({ t: "res", id, ok: false, error: error instanceof Error ? error.message : String(error) }, undefined, json);
    }
  }
}

function describe(body: unknown): string {
  const type = (body as { type?: unknown } | null)?.type;
  return typeof type === "string" ? `"${type}"` : "(untyped)";
}
