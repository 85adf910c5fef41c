import { deserialize, serialize } from "node:v8";

// Frames are a 4-byte big-endian payload length followed by a V8 structured-clone payload, so
// typed arrays (heat slabs), Maps and Dates cross theaters exactly, bit for bit.
//
// A frame may also carry a raw payload (bulk bytes the sender writes as they are, e.g. a
// migration batch, see migration-codec.ts): the top bit (bit 31, `RAW_PAYLOAD_FLAG`) of its length word is set, and its
// payload is a 4-byte big-endian envelope length, the V8-serialized envelope, zero padding up to
// a multiple of 8 bytes from the start of the frame payload, then the raw bytes. The receiver
// gets a `FrameWithPayload`: the envelope and a view of the raw bytes in the received frame.
//
// Bit 30 of the length word (`JSON_FRAME_FLAG`) marks a JSON payload instead (`encodeJsonFrame`):
// the only encoding a link takes before its peer is authenticated, so unauthenticated bytes never
// reach `v8.deserialize` (see Channel.requireJsonUntilTrusted). Lengths are at most 2^28, so bits
// 28-31 never carry length: the decoder masks both flags off, and a header with both is corrupt.

export const FRAME_HEADER_BYTES = 4;
/**
 * Refuse absurd lengths early: a corrupt or hostile header must not make us buffer gigabytes.
 * This is also the cap on a frame with a raw payload (a migration batch): batches are about
 * 4 MiB (`migrationBatchBytes`), but an actor larger than that travels alone in its batch, so
 * one actor's encoded state may be up to this.
 */
export const MAX_FRAME_PAYLOAD_BYTES = 256 * 1024 * 1024;
/**
 * Cap on a frame without a raw payload between theaters once the peer handshake is done: a
 * `deliver` (an application message), `moved`, `goodbye`, a migration's commit or abort, and
 * the replies to them. Application messages are small (a heat edge is a few hundred bytes).
 */
export const MAX_MESSAGE_FRAME_BYTES = 16 * 1024 * 1024;
/**
 * Cap on a frame a theater sends the Mediator once admitted: its largest are the replies that
 * carry actor states (`snapshot` for a checkpoint of the VM's actors, `collect`), so this bounds
 * one VM's checkpoint. A theater sends the Mediator no raw payload at all.
 */
export const MAX_THEATER_REPLY_FRAME_BYTES = 64 * 1024 * 1024;
/** Set in the length word (bit 31) of a frame that carries a raw payload after its envelope. */
export const RAW_PAYLOAD_FLAG = 0x8000_0000;
const ENVELOPE_LENGTH_BYTES = 4;
/** The raw payload starts this aligned within the frame payload, so typed arrays can view it in place. */
export const RAW_PAYLOAD_ALIGNMENT = 8;

/**
 * Bytes received as a sequence of chunks (views of the socket's reads), not copied together: a
 * frame's raw payload. Reading a range gives a view when it lies within one chunk.
 */
export class ChunkedBytes {
  readonly byteLength: number;
  /** Where the chunk last looked up starts: reads usually move forward. */
  private cursorIndex = 0;
  private cursorStart = 0;

  constructor(readonly chunks: readonly Buffer[]) {
    let bytes = 0;
    for (const chunk of chunks) bytes += chunk.length;
    this.byteLength = bytes;
  }

  static of(bytes: Uint8Array): ChunkedBytes {
    return new ChunkedBytes([Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)]);
  }

  /**
   * `length` bytes from `offset`, contiguous: a view of the received bytes when they lie within
   * one chunk and start at an address aligned to `alignment`, otherwise a copy (small ones from
   * Node's buffer pool, 8-byte aligned; larger ones at offset 0 of their own memory).
   */
  read(offset: number, length: number, alignment = 1): Buffer {
    const view = this.view(offset, length, alignment);
    if (view) return view;
    const copy = length < 4096 ? Buffer.allocUnsafe(length) : Buffer.allocUnsafeSlow(length);
    this.copyTo(offset, length, copy, 0);
    return copy;
  }

  /** A view of `length` bytes from `offset` when they lie within one chunk, aligned to `alignment`; else null. */
  view(offset: number, length: number, alignment = 1): Buffer | null {
    const index = this.locate(offset, length);
    const chunk = this.chunks[index];
    if (!chunk) return Buffer.alloc(0);
    const within = offset - this.cursorStart;
    if (within + length <= chunk.length && (chunk.byteOffset + within) % alignment === 0)
      return chunk.subarray(within, within + length);
    return null;
  }

  /** Copies `length` bytes from `offset` into `target` at `targetOffset`. */
  copyTo(offset: number, length: number, target: Uint8Array, targetOffset: number): void {
    let index = this.locate(offset, length);
    let from = offset - this.cursorStart;
    let filled = 0;
    while (filled < length) {
      const chunk = this.chunks[index++]!;
      const used = Math.min(chunk.length - from, length - filled);
      target.set(chunk.subarray(from, from + used), targetOffset + filled);
      filled += used;
      from = 0;
    }
  }

  /** Index of the chunk holding byte `offset` (its start in `cursorStart`); checks the range. */
  private locate(offset: number, length: number): number {
    if (!(offset >= 0 && length >= 0 && offset + length <= this.byteLength))
      throw new RangeError(`bytes ${offset}..${offset + length} outside ${this.byteLength}`);
    if (offset < this.cursorStart) {
      this.cursorIndex = 0;
      this.cursorStart = 0;
    }
    while (this.cursorIndex < this.chunks.length - 1 && this.cursorStart + this.chunks[this.cursorIndex]!.length <= offset) {
      this.cursorStart += this.chunks[this.cursorIndex]!.length;
      this.cursorIndex++;
    }
    return this.cursorIndex;
  }

  /** The bytes from `offset` on, as chunks (views, no copy). */
  from(offset: number): ChunkedBytes {
    const rest: Buffer[] = [];
    let start = 0;
    for (const chunk of this.chunks) {
      const end = start + chunk.length;
      if (end > offset) rest.push(start >= offset ? chunk : chunk.subarray(offset - start));
      start = end;
    }
    return new ChunkedBytes(rest);
  }

  /** All of it in one buffer (a copy unless it is one chunk). */
  toBuffer(): Buffer {
    return this.read(0, this.byteLength);
  }
}

/** Header bit 30 marking a JSON (UTF-8) payload; lengths never reach it (they are at most 2^28). */
export const JSON_FRAME_FLAG = 0x4000_0000;
/** Frame limit on a link whose peer is not authenticated yet (admission, peer handshake). */
export const UNTRUSTED_MAX_FRAME_PAYLOAD_BYTES = 64 * 1024;

/** A received frame that carried a raw payload. */
export class FrameWithPayload {
  constructor(
    readonly value: unknown,
    readonly payload: ChunkedBytes,
  ) {}
}

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

/**
 * Header and envelope of a frame carrying `value` followed by `payloadBytes` raw bytes: write it,
 * then the payload's chunks as they are (no copy into a frame buffer).
 */
export function encodeFrameHead(value: unknown, payloadBytes: number): Buffer {
  const envelope = serialize(value);
  const padding =
    (RAW_PAYLOAD_ALIGNMENT - ((ENVELOPE_LENGTH_BYTES + envelope.length) % RAW_PAYLOAD_ALIGNMENT)) % RAW_PAYLOAD_ALIGNMENT;
  const frameBytes = ENVELOPE_LENGTH_BYTES + envelope.length + padding + payloadBytes;
  if (frameBytes > MAX_FRAME_PAYLOAD_BYTES) throw new FrameTooLargeError(frameBytes);
  const head = Buffer.allocUnsafe(FRAME_HEADER_BYTES + ENVELOPE_LENGTH_BYTES + envelope.length + padding);
  head.writeUInt32BE((RAW_PAYLOAD_FLAG | frameBytes) >>> 0, 0);
  head.writeUInt32BE(envelope.length, FRAME_HEADER_BYTES);
  envelope.copy(head, FRAME_HEADER_BYTES + ENVELOPE_LENGTH_BYTES);
  head.fill(0, head.length - padding);
  return head;
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
export type RawFrame =
  | { json: boolean; rawPayload: false; payload: Buffer }
  /** A frame carrying a raw payload: its bytes (envelope length, envelope, padding, payload) as received. */
  | { json: false; rawPayload: true; payload: ChunkedBytes };

/** Decodes a raw frame; a JSON frame is parsed as JSON, never as a structured clone. */
export function decodeFrame(frame: RawFrame): unknown {
  if (frame.rawPayload) return splitRawPayload(frame.payload);
  return frame.json ? JSON.parse(frame.payload.toString("utf8")) : deserialize(frame.payload);
}

/** Turns an arbitrary chunking of a byte stream back into the values that were framed. */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private bufferedBytes = 0;
  private expectedPayloadBytes: number | null = null;
  private expectedRawPayload = false;
  private expectedJson = false;
  /** Lowered while a peer is not yet trusted (its handshake frames are small), and per link after. */
  maxPayloadBytes = MAX_FRAME_PAYLOAD_BYTES;
  /** The same for a frame with a raw payload; 0: such frames are refused on this link. */
  maxRawPayloadBytes = MAX_FRAME_PAYLOAD_BYTES;

  /**
   * Feeds bytes; returns every value completed by them, in order (a `FrameWithPayload` for a
   * frame that carried a raw payload). Throws on a corrupt stream.
   */
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
        const word = this.take(FRAME_HEADER_BYTES).readUInt32BE(0);
        const length = (word & ~(RAW_PAYLOAD_FLAG | JSON_FRAME_FLAG)) >>> 0;
        const json = (word & JSON_FRAME_FLAG) !== 0;
        const rawPayload = (word & RAW_PAYLOAD_FLAG) !== 0;
        if (json && rawPayload) throw new RangeError("frame header marks both a JSON frame and a raw payload");
        if (rawPayload && this.maxRawPayloadBytes === 0)
          throw new RangeError("a frame with a raw payload is not taken on this link");
        const limit = rawPayload ? this.maxRawPayloadBytes : this.maxPayloadBytes;
        if (length > limit) throw new FrameTooLargeError(length, limit);
        this.expectedPayloadBytes = length;
        this.expectedJson = json;
        this.expectedRawPayload = rawPayload;
      }
      if (this.bufferedBytes < this.expectedPayloadBytes) break;
      const length = this.expectedPayloadBytes;
      this.expectedPayloadBytes = null;
      // A raw payload stays in the chunks it arrived in: no copy into one frame buffer.
      frames.push(
        this.expectedRawPayload
          ? { json: false, rawPayload: true, payload: new ChunkedBytes(this.takeChunks(length)) }
          : { json: this.expectedJson, rawPayload: false, payload: this.take(length) },
      );
    }
    return frames;
  }

  /** Bytes received that do not yet form a whole frame. */
  get pendingBytes(): number {
    return this.bufferedBytes + (this.expectedPayloadBytes === null ? 0 : FRAME_HEADER_BYTES);
  }

  private takeChunks(byteCount: number): Buffer[] {
    const pieces: Buffer[] = [];
    let taken = 0;
    while (taken < byteCount) {
      const chunk = this.chunks[0]!;
      const used = Math.min(chunk.length, byteCount - taken);
      if (used === chunk.length) {
        pieces.push(chunk);
        this.chunks.shift();
      } else {
        pieces.push(chunk.subarray(0, used));
        this.chunks[0] = chunk.subarray(used);
      }
      taken += used;
    }
    this.bufferedBytes -= byteCount;
    return pieces;
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

function splitRawPayload(frame: ChunkedBytes): FrameWithPayload {
  if (frame.byteLength < ENVELOPE_LENGTH_BYTES)
    throw new Error(`frame with a raw payload too short for its envelope length (${frame.byteLength} bytes)`);
  const envelopeBytes = frame.read(0, ENVELOPE_LENGTH_BYTES).readUInt32BE(0);
  const envelopeEnd = ENVELOPE_LENGTH_BYTES + envelopeBytes;
  const payloadStart = Math.ceil(envelopeEnd / RAW_PAYLOAD_ALIGNMENT) * RAW_PAYLOAD_ALIGNMENT;
  if (payloadStart > frame.byteLength)
    throw new Error(`frame of ${frame.byteLength} bytes announces an envelope of ${envelopeBytes} bytes that does not fit`);
  return new FrameWithPayload(deserialize(frame.read(ENVELOPE_LENGTH_BYTES, envelopeBytes)), frame.from(payloadStart));
}
