import { deserialize, serialize } from "node:v8";

// Frames are a 4-byte big-endian payload length followed by a V8 structured-clone payload, so
// typed arrays (heat slabs), Maps and Dates cross theaters exactly, bit for bit.

export const FRAME_HEADER_BYTES = 4;
/** Refuse absurd lengths early: a corrupt or hostile header must not make us buffer gigabytes. */
export const MAX_FRAME_PAYLOAD_BYTES = 256 * 1024 * 1024;

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

/** Turns an arbitrary chunking of a byte stream back into the values that were framed. */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private bufferedBytes = 0;
  private expectedPayloadBytes: number | null = null;
  /** Lowered while a peer is not yet trusted (its handshake frames are small). */
  maxPayloadBytes = MAX_FRAME_PAYLOAD_BYTES;

  /** Feeds bytes; returns every value completed by them, in order. Throws on a corrupt stream. */
  push(chunk: Uint8Array): unknown[] {
    if (chunk.length > 0) {
      this.chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
      this.bufferedBytes += chunk.length;
    }
    const values: unknown[] = [];
    for (;;) {
      if (this.expectedPayloadBytes === null) {
        if (this.bufferedBytes < FRAME_HEADER_BYTES) break;
        const length = this.take(FRAME_HEADER_BYTES).readUInt32BE(0);
        if (length > this.maxPayloadBytes) throw new FrameTooLargeError(length, this.maxPayloadBytes);
        this.expectedPayloadBytes = length;
      }
      if (this.bufferedBytes < this.expectedPayloadBytes) break;
      const payload = this.take(this.expectedPayloadBytes);
      this.expectedPayloadBytes = null;
      values.push(deserialize(payload));
    }
    return values;
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
