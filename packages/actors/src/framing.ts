import { deserialize, serialize } from "node:v8";

// Frames are a 4-byte big-endian payload length followed by a V8 structured-clone payload, so
// typed arrays (heat slabs), Maps and Dates cross theaters exactly, bit for bit.
//
// The header's top bit marks a JSON payload instead (`encodeJsonFrame`): the only encoding a
// link takes before its peer is authenticated, so unauthenticated bytes never reach
// `v8.deserialize` (see Channel.requireJsonUntilTrusted).

export const FRAME_HEADER_BYTES = 4;
/** Refuse absurd lengths early: a corrupt or hostile header must not make us buffer gigabytes. */
export const MAX_FRAME_PAYLOAD_BYTES = 256 * 1024 * 1024;
/** Header bit marking a JSON (UTF-8) payload; lengths never reach it (they are below 2^31). */
export const JSON_FRAME_FLAG = 0x8000_0000;
/** Frame limit on a link whose peer is not authenticated yet (admission, peer handshake). */
export const UNTRUSTED_MAX_FRAME_PAYLOAD_BYTES = 64 * 1024;

export class FrameTooLargeError extends Error {
  constructor(
    readonly payloadBytes: number,
    readonly limitBytes = MAX_FRAME_PAYLOAD_BYTES,
  ) {
    super(`frame payload of ${payloadBytes} bytes exceeds the limit of ${limitBytes}`);
  }
}

export function encodeFrame(value: unknown): Buffer {
  const payload = serialize(value);
  if (payload.length > MAX_FRAME_PAYLOAD_BYTES) throw new FrameTooLargeError(payload.length);
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length);
  frame.writeUInt32BE(payload.length, 0);
  payload.copy(frame, FRAME_HEADER_BYTES);
  return frame;
}

/** A JSON frame: for control messages that must be readable before the peer is trusted. */
export function encodeJsonFrame(value: unknown): Buffer {
  const payload = Buffer.from(JSON.stringify(value), "utf8");
  if (payload.length > MAX_FRAME_PAYLOAD_BYTES) throw new FrameTooLargeError(payload.length);
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length);
  frame.writeUInt32BE((payload.length | JSON_FRAME_FLAG) >>> 0, 0);
  payload.copy(frame, FRAME_HEADER_BYTES);
  return frame;
}

/** One frame as received, not yet decoded. */
export interface RawFrame {
  json: boolean;
  payload: Buffer;
}

/** Decodes a raw frame; a JSON frame is parsed as JSON, never as a structured clone. */
export function decodeFrame(frame: RawFrame): unknown {
  return frame.json ? JSON.parse(frame.payload.toString("utf8")) : deserialize(frame.payload);
}

/** Turns an arbitrary chunking of a byte stream back into the values that were framed. */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private bufferedBytes = 0;
  private expectedPayloadBytes: number | null = null;
  private expectedJson = false;
  /** Lowered while a peer is not yet trusted (its handshake frames are small). */
  maxPayloadBytes = MAX_FRAME_PAYLOAD_BYTES;

  /** Feeds bytes; returns every value completed by them, in order. Throws on a corrupt stream. */
  push(chunk: Uint8Array): unknown[] {
    return this.pushRaw(chunk).map(decodeFrame);
  }

  /** Feeds bytes; returns every frame completed by them, undecoded (the caller decides how). */
  pushRaw(chunk: Uint8Array): RawFrame[] {
    if (chunk.length > 0) {
      this.chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
      this.bufferedBytes += chunk.length;
    }
    const frames: RawFrame[] = [];
    for (;;) {
      if (this.expectedPayloadBytes === null) {
        if (this.bufferedBytes < FRAME_HEADER_BYTES) break;
        const header = this.take(FRAME_HEADER_BYTES).readUInt32BE(0);
        const length = (header & ~JSON_FRAME_FLAG) >>> 0;
        if (length > this.maxPayloadBytes) throw new FrameTooLargeError(length, this.maxPayloadBytes);
        this.expectedPayloadBytes = length;
        this.expectedJson = (header & JSON_FRAME_FLAG) !== 0;
      }
      if (this.bufferedBytes < this.expectedPayloadBytes) break;
      const payload = this.take(this.expectedPayloadBytes);
      this.expectedPayloadBytes = null;
      frames.push({ json: this.expectedJson, payload });
    }
    return frames;
  }

  /** Bytes received that do not yet form a whole frame. */
  get pendingBytes(): number {
    return this.bufferedBytes + (this.expectedPayloadBytes === null ? 0 : FRAME_HEADER_BYTES);
  }

  private take(byteCount: number): Buffer {
    const first = this.chunks[0];
    if (first && first.length >= byteCount) {
      // Common case: the whole piece is inside one chunk, no copy needed.
      const piece = first.subarray(0, byteCount);
      if (first.length === byteCount) this.chunks.shift();
      else this.chunks[0] = first.subarray(byteCount);
      this.bufferedBytes -= byteCount;
      return piece;
    }
    const piece = Buffer.allocUnsafe(byteCount);
    let filled = 0;
    while (filled < byteCount) {
      const chunk = this.chunks[0]!;
      const used = Math.min(chunk.length, byteCount - filled);
      chunk.copy(piece, filled, 0, used);
      filled += used;
      if (used === chunk.length) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(used);
    }
    this.bufferedBytes -= byteCount;
    return piece;
  }
}
