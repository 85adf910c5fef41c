import { DefaultDeserializer, DefaultSerializer } from "node:v8";
import { ChunkedBytes } from "./framing";
import type { MigratedActor } from "./protocol";

// The binary encoding of one migration batch (the raw payload of a `migrate-in` request).
//
// Each actor record is a V8 structured clone of everything but its typed arrays (its
// "skeleton": names, mailbox, delivery-order maps, the state's shape), in which every typed
// array, Buffer and DataView is replaced by a reference to an attachment; the attachments are
// the arrays' bytes, raw. So the bulk of an actor's state is never V8-serialized: the sender
// writes the arrays' own memory to the socket (no copy) and the receiver's arrays are views of
// the received frame (no copy either, when aligned). Everything else keeps structured-clone
// semantics exactly (Maps, Dates, nesting, shared references within one actor). Each record is
// encoded on its own, so two actors never come to share an object.
//
// Layout, little-endian:
//   u32 magic "MLB1", u32 record count R
//   R × (u32 skeleton bytes, u32 attachment count)
//   for every attachment of every record, in order: u32 kind, u32 byte length
//   the R skeletons, back to back
//   zero padding to a multiple of 8
//   the attachments, in order, each followed by zero padding to a multiple of 8
// The attachments' offsets follow from the table, so the decoder checks that they fill the
// payload exactly. The receiver keeps the payload in the chunks it was read in: an attachment
// within one chunk, at an address aligned for its element type, becomes a view of it; one that
// straddles two reads, or is misaligned, is copied (once).

const MAGIC = 0x3142_4c4d; // "MLB1" read as little-endian bytes
const PREAMBLE_BYTES = 8;
const RECORD_ENTRY_BYTES = 8;
const ATTACHMENT_ENTRY_BYTES = 8;
const ALIGNMENT = 8;
/** Attachments smaller than this are copied together into one chunk rather than written one by one. */
const SMALL_ATTACHMENT_BYTES = 4096;

type ViewConstructor = new (buffer: ArrayBufferLike, byteOffset: number, length: number) => ArrayBufferView;

interface ViewKind {
  name: string;
  /** Element size: an attachment's length is a multiple of it, and its offset must be for a view. */
  elementBytes: number;
  make(buffer: ArrayBufferLike, byteOffset: number, byteLength: number): ArrayBufferView;
}

function typedKind(name: string, ctor: ViewConstructor & { BYTES_PER_ELEMENT: number }): ViewKind {
  const elementBytes = ctor.BYTES_PER_ELEMENT;
  return {
    name,
    elementBytes,
    make: (buffer, byteOffset, byteLength) => new ctor(buffer, byteOffset, byteLength / elementBytes),
  };
}

// Wire codes are indices into this list: append only, never reorder.
const KINDS: readonly ViewKind[] = [
  { name: "Buffer", elementBytes: 1, make: (buffer, byteOffset, byteLength) => Buffer.from(buffer, byteOffset, byteLength) },
  typedKind("Uint8Array", Uint8Array),
  typedKind("Int8Array", Int8Array),
  typedKind("Uint8ClampedArray", Uint8ClampedArray),
  typedKind("Int16Array", Int16Array),
  typedKind("Uint16Array", Uint16Array),
  typedKind("Int32Array", Int32Array),
  typedKind("Uint32Array", Uint32Array),
  typedKind("Float32Array", Float32Array),
  typedKind("Float64Array", Float64Array),
  typedKind("BigInt64Array", BigInt64Array),
  typedKind("BigUint64Array", BigUint64Array),
  { name: "DataView", elementBytes: 1, make: (buffer, byteOffset, byteLength) => new DataView(buffer, byteOffset, byteLength) },
];
const BUFFER_KIND = 0;
const KIND_BY_TAG = new Map(KINDS.map((kind, code) => [kind.name, code]));

/** A malformed or truncated migration batch: refused, nothing of it is installed. */
export class MigrationFrameError extends Error {
  constructor(message: string) {
    super(`malformed migration batch: ${message}`);
  }
}

/** One actor, encoded; `byteLength` is what it adds to a batch. */
export interface EncodedActor {
  readonly uan: string;
  readonly byteLength: number;
  readonly skeleton: Buffer;
  readonly attachments: readonly ArrayBufferView[];
  readonly kinds: readonly number[];
}

function padding(bytes: number): number {
  return (ALIGNMENT - (bytes % ALIGNMENT)) % ALIGNMENT;
}

const KIND_BY_CONSTRUCTOR = new Map<unknown, number>([
  [Buffer, BUFFER_KIND],
  ...KINDS.map((kind, code) => [(globalThis as Record<string, unknown>)[kind.name], code] as const).filter(
    ([, code]) => code !== BUFFER_KIND,
  ),
]);

function kindOf(view: ArrayBufferView): number | undefined {
  const byConstructor = KIND_BY_CONSTRUCTOR.get(view.constructor);
  if (byConstructor !== undefined) return byConstructor;
  if (Buffer.isBuffer(view)) return BUFFER_KIND;
  return KIND_BY_TAG.get(Object.prototype.toString.call(view).slice(8, -1));
}

/** Writes typed arrays as references to attachments, collected on the side. */
class SkeletonSerializer extends DefaultSerializer {
  readonly attachments: ArrayBufferView[] = [];
  readonly kinds: number[] = [];

  _writeHostObject(object: object): void {
    const kind = ArrayBuffer.isView(object) ? kindOf(object) : undefined;
    if (kind === undefined) throw new Error(`cannot migrate a host object (${Object.prototype.toString.call(object)})`);
    this.writeUint32(this.attachments.length);
    this.attachments.push(object as ArrayBufferView);
    this.kinds.push(kind);
  }
}

/** Reads attachment references back as the views decoded for this record. */
class SkeletonDeserializer extends DefaultDeserializer {
  constructor(
    skeleton: Uint8Array,
    private readonly views: readonly ArrayBufferView[],
  ) {
    super(skeleton);
  }

  _readHostObject(): ArrayBufferView {
    const index = this.readUint32();
    const view = this.views[index];
    if (!view) throw new Error(`reference to attachment ${index} of ${this.views.length}`);
    return view;
  }
}

/** Encodes one actor's record. Its typed arrays are referenced, not copied: they must not change until sent. */
export function encodeMigratedActor(actor: MigratedActor): EncodedActor {
  const serializer = new SkeletonSerializer();
  serializer.writeHeader();
  serializer.writeValue(actor);
  const skeleton = serializer.releaseBuffer();
  let byteLength = RECORD_ENTRY_BYTES + skeleton.length;
  for (const attachment of serializer.attachments)
    byteLength += ATTACHMENT_ENTRY_BYTES + attachment.byteLength + padding(attachment.byteLength);
  return { uan: actor.uan, byteLength, skeleton, attachments: serializer.attachments, kinds: serializer.kinds };
}

function asBytes(view: ArrayBufferView): Buffer {
  return Buffer.isBuffer(view) ? view : Buffer.from(view.buffer, view.byteOffset, view.byteLength);
}

/**
 * The batch of `records` as chunks to write back to back: one head (tables and skeletons), then
 * the attachments' own memory (small ones gathered into one copied chunk).
 */
export function encodeMigrationBatch(records: readonly EncodedActor[]): Buffer[] {
  let attachmentCount = 0;
  let skeletonBytes = 0;
  for (const record of records) {
    attachmentCount += record.attachments.length;
    skeletonBytes += record.skeleton.length;
  }
  const tablesBytes = PREAMBLE_BYTES + RECORD_ENTRY_BYTES * records.length + ATTACHMENT_ENTRY_BYTES * attachmentCount;
  const headBytes = tablesBytes + skeletonBytes + padding(tablesBytes + skeletonBytes);
  const head = Buffer.allocUnsafe(headBytes);
  head.writeUInt32LE(MAGIC, 0);
  head.writeUInt32LE(records.length, 4);
  let entry = PREAMBLE_BYTES;
  for (const record of records) {
    head.writeUInt32LE(record.skeleton.length, entry);
    head.writeUInt32LE(record.attachments.length, entry + 4);
    entry += RECORD_ENTRY_BYTES;
  }
  for (const record of records) {
    for (const [index, attachment] of record.attachments.entries()) {
      head.writeUInt32LE(record.kinds[index]!, entry);
      head.writeUInt32LE(attachment.byteLength, entry + 4);
      entry += ATTACHMENT_ENTRY_BYTES;
    }
  }
  for (const record of records) {
    head.set(record.skeleton, entry);
    entry += record.skeleton.length;
  }
  head.fill(0, entry);

  const chunks: Buffer[] = [head];
  // Runs of small attachments are copied into one chunk; large ones are written in place.
  let small: ArrayBufferView[] = [];
  let smallBytes = 0;
  const flushSmall = () => {
    if (small.length === 0) return;
    const gathered = Buffer.alloc(smallBytes); // zeroed: the padding
    let at = 0;
    for (const view of small) {
      asBytes(view).copy(gathered, at);
      at += view.byteLength + padding(view.byteLength);
    }
    chunks.push(gathered);
    small = [];
    smallBytes = 0;
  };
  for (const record of records) {
    for (const attachment of record.attachments) {
      const padded = attachment.byteLength + padding(attachment.byteLength);
      if (attachment.byteLength < SMALL_ATTACHMENT_BYTES) {
        small.push(attachment);
        smallBytes += padded;
        continue;
      }
      flushSmall();
      chunks.push(asBytes(attachment));
      if (padded > attachment.byteLength) chunks.push(ZEROES.subarray(0, padded - attachment.byteLength));
    }
  }
  flushSmall();
  return chunks;
}

const ZEROES = Buffer.alloc(ALIGNMENT);

/** The total size of a batch's chunks. */
export function batchByteLength(chunks: readonly Uint8Array[]): number {
  let bytes = 0;
  for (const chunk of chunks) bytes += chunk.byteLength;
  return bytes;
}

/**
 * Decodes a batch. Its typed arrays are views of the received bytes where they can be. Throws
 * a MigrationFrameError on anything malformed or truncated, instead of returning.
 */
export function decodeMigrationBatch(payload: ChunkedBytes | Uint8Array): MigratedActor[] {
  const bytes = payload instanceof ChunkedBytes ? payload : ChunkedBytes.of(payload);
  const total = bytes.byteLength;
  const need = (end: number, what: string) => {
    if (end > total) throw new MigrationFrameError(`truncated: ${what} needs ${end} bytes, the batch has ${total}`);
  };
  need(PREAMBLE_BYTES, "the preamble");
  const preamble = bytes.read(0, PREAMBLE_BYTES);
  const magic = preamble.readUInt32LE(0);
  if (magic !== MAGIC) throw new MigrationFrameError(`bad magic 0x${magic.toString(16)}`);
  const recordCount = preamble.readUInt32LE(4);
  need(PREAMBLE_BYTES + RECORD_ENTRY_BYTES * recordCount, `the table of ${recordCount} records`);
  const recordTable = bytes.read(PREAMBLE_BYTES, RECORD_ENTRY_BYTES * recordCount);
  let attachmentCount = 0;
  let skeletonBytes = 0;
  for (let at = 0; at < recordTable.length; at += RECORD_ENTRY_BYTES) {
    skeletonBytes += recordTable.readUInt32LE(at);
    attachmentCount += recordTable.readUInt32LE(at + 4);
  }
  const attachmentTableStart = PREAMBLE_BYTES + RECORD_ENTRY_BYTES * recordCount;
  need(attachmentTableStart + ATTACHMENT_ENTRY_BYTES * attachmentCount, `the table of ${attachmentCount} attachments`);
  const attachmentTable = bytes.read(attachmentTableStart, ATTACHMENT_ENTRY_BYTES * attachmentCount);
  const skeletonStart = attachmentTableStart + attachmentTable.length;
  need(skeletonStart + skeletonBytes, `${recordCount} skeletons of ${skeletonBytes} bytes`);
  let offset = skeletonStart + skeletonBytes;
  offset += padding(offset);
  const layout: Array<{ kind: ViewKind; offset: number; byteLength: number }> = [];
  for (let index = 0, at = 0; index < attachmentCount; index++, at += ATTACHMENT_ENTRY_BYTES) {
    const code = attachmentTable.readUInt32LE(at);
    const byteLength = attachmentTable.readUInt32LE(at + 4);
    const kind = KINDS[code];
    if (!kind) throw new MigrationFrameError(`attachment ${index} has unknown kind ${code}`);
    if (byteLength % kind.elementBytes !== 0)
      throw new MigrationFrameError(`attachment ${index}: ${byteLength} bytes is not a whole number of ${kind.name} elements`);
    layout.push({ kind, offset, byteLength });
    offset += byteLength + padding(byteLength);
    need(offset, `attachment ${index}`);
  }
  if (offset !== total)
    throw new MigrationFrameError(`${total - offset} bytes after the last attachment (expected ${offset} in all)`);

  // Attachments that cannot be views (straddling two reads, or misaligned) are copied into one
  // slab for the batch: a few large buffers are far cheaper to collect than many small ones.
  const views: Array<ArrayBufferView | null> = [];
  let slabBytes = 0;
  for (const { kind, offset: at, byteLength } of layout) {
    const piece = bytes.view(at, byteLength, kind.elementBytes);
    views.push(piece && kind.make(piece.buffer, piece.byteOffset, byteLength));
    if (!piece) slabBytes += byteLength + padding(byteLength);
  }
  if (slabBytes > 0) {
    const slab = Buffer.allocUnsafeSlow(slabBytes);
    let slabAt = 0;
    for (const [index, { kind, offset: at, byteLength }] of layout.entries()) {
      if (views[index]) continue;
      bytes.copyTo(at, byteLength, slab, slabAt);
      views[index] = kind.make(slab.buffer, slab.byteOffset + slabAt, byteLength);
      slabAt += byteLength + padding(byteLength);
    }
  }

  const actors: MigratedActor[] = [];
  let skeletonAt = skeletonStart;
  let attachmentIndex = 0;
  for (let index = 0; index < recordCount; index++) {
    const recordSkeletonBytes = recordTable.readUInt32LE(index * RECORD_ENTRY_BYTES);
    const recordAttachments = recordTable.readUInt32LE(index * RECORD_ENTRY_BYTES + 4);
    const own = views.slice(attachmentIndex, attachmentIndex + recordAttachments) as ArrayBufferView[];
    attachmentIndex += recordAttachments;
    const skeleton = bytes.read(skeletonAt, recordSkeletonBytes);
    skeletonAt += recordSkeletonBytes;
    let value: unknown;
    try {
      const deserializer = new SkeletonDeserializer(skeleton, own);
      deserializer.readHeader();
      value = deserializer.readValue();
    } catch (error) {
      throw new MigrationFrameError(`record ${index}: ${(error as Error).message}`);
    }
    const problem = migratedActorProblem(value);
    if (problem) throw new MigrationFrameError(`record ${index}: ${problem}`);
    actors.push(value as MigratedActor);
  }
  return actors;
}

/** Why `value` is not a MigratedActor, or null. The theater (and a checkpoint) relies on these fields' types. */
export function migratedActorProblem(value: unknown): string | null {
  if (typeof value !== "object" || value === null) return "not an object";
  const actor = value as Partial<Record<keyof MigratedActor, unknown>>;
  if (typeof actor.uan !== "string") return "uan is not a string";
  if (typeof actor.behavior !== "string") return `behavior of ${actor.uan} is not a string`;
  if (!Array.isArray(actor.mailbox)) return `mailbox of ${actor.uan} is not an array`;
  for (const field of ["sendSeq", "recvNext", "reorder"] as const)
    if (!(actor[field] instanceof Map)) return `${field} of ${actor.uan} is not a Map`;
  const profile = actor.profile as Partial<Record<string, unknown>> | undefined;
  if (
    typeof profile !== "object" ||
    profile === null ||
    !(profile.receivedFrom instanceof Map) ||
    !(profile.sentTo instanceof Map) ||
    typeof profile.handled !== "number" ||
    typeof profile.busyMs !== "number"
  )
    return `profile of ${actor.uan} is malformed`;
  return null;
}
