// A compact binary encoding of the values actor records are usually made of — plain objects
// (a prototype-less one comes back as a plain object, as from a structured clone),
// dense arrays, Maps, strings, numbers, booleans, null, undefined — with typed arrays handed to
// the caller as attachments (see migration-codec.ts). It gives exactly what a structured clone
// gives for those values, without V8's serializer: no native serializer object, no call into
// C++ per value, and no buffer of its own per record. Anything else (a Set, a Date, a class
// instance, an array with holes or extra properties, a bigint, an object reached twice, deep
// nesting) is declined, and the caller falls back to V8's structured clone, which handles it.

/** First byte of a compact encoding; V8's own encoding starts with its version tag, 0xFF. */
export const COMPACT_TAG = 0x01;
const MAX_DEPTH = 64;

const enum Tag {
  Undefined = 0,
  Null = 1,
  False = 2,
  True = 3,
  Number = 4,
  String = 5,
  Object = 6,
  Array = 7,
  Map = 8,
  Attachment = 9,
}

/** The value cannot be encoded compactly: use V8's structured clone instead. */
class Declined extends Error {}

class Writer {
  bytes = Buffer.allocUnsafeSlow(4096);
  length = 0;

  reserve(extra: number): void {
    if (this.length + extra <= this.bytes.length) return;
    const grown = Buffer.allocUnsafeSlow(Math.max(this.bytes.length * 2, this.length + extra));
    this.bytes.copy(grown, 0, 0, this.length);
    this.bytes = grown;
  }
  byte(value: number): void {
    this.reserve(1);
    this.bytes[this.length++] = value;
  }
  u32(value: number): void {
    this.reserve(4);
    this.bytes.writeUInt32LE(value, this.length);
    this.length += 4;
  }
  f64(value: number): void {
    this.reserve(8);
    this.bytes.writeDoubleLE(value, this.length);
    this.length += 8;
  }
  /** UTF-16 code units as they are, so lone surrogates survive exactly as in a structured clone. */
  string(value: string): void {
    this.u32(value.length);
    this.reserve(value.length * 2);
    if (value.length > 64) {
      this.length += this.bytes.write(value, this.length, "utf16le");
      return;
    }
    // Short strings (keys, names) by hand: cheaper than a call into C++ each.
    const bytes = this.bytes;
    let at = this.length;
    for (let index = 0; index < value.length; index++) {
      const unit = value.charCodeAt(index);
      bytes[at++] = unit & 0xff;
      bytes[at++] = unit >>> 8;
    }
    this.length = at;
  }
}

/** One writer for every record: records are encoded one at a time, and copied out. */
const writer = new Writer();

/**
 * The compact encoding of `value` (a copy, from Node's buffer pool when small), or null when
 * `value` holds something it does not cover. Typed arrays are pushed onto `attachments`.
 */
export function compactEncode(value: unknown, attachments: ArrayBufferView[]): Buffer | null {
  writer.length = 0;
  writer.byte(COMPACT_TAG);
  const attachmentsBefore = attachments.length;
  try {
    writeValue(value, attachments, new Set(), 0);
  } catch (error) {
    if (!(error instanceof Declined)) throw error;
    attachments.length = attachmentsBefore;
    return null;
  }
  const encoded = Buffer.allocUnsafe(writer.length);
  writer.bytes.copy(encoded, 0, 0, writer.length);
  return encoded;
}

function writeValue(value: unknown, attachments: ArrayBufferView[], seen: Set<object>, depth: number): void {
  switch (typeof value) {
    case "undefined":
      return writer.byte(Tag.Undefined);
    case "boolean":
      return writer.byte(value ? Tag.True : Tag.False);
    case "number":
      writer.byte(Tag.Number);
      return writer.f64(value);
    case "string":
      writer.byte(Tag.String);
      return writer.string(value);
    case "object":
      break;
    default:
      throw new Declined(); // bigint, symbol, function
  }
  if (value === null) return writer.byte(Tag.Null);
  if (depth >= MAX_DEPTH || seen.has(value)) throw new Declined(); // shared or cyclic: V8 keeps the sharing
  seen.add(value);
  if (ArrayBuffer.isView(value)) {
    writer.byte(Tag.Attachment);
    writer.u32(attachments.length);
    attachments.push(value);
    return;
  }
  const prototype = Object.getPrototypeOf(value);
  if (prototype === Object.prototype || prototype === null) {
    const keys = Object.keys(value);
    writer.byte(Tag.Object);
    writer.u32(keys.length);
    for (const key of keys) {
      writer.string(key);
      writeValue((value as Record<string, unknown>)[key], attachments, seen, depth + 1);
    }
    return;
  }
  if (prototype === Array.prototype) {
    const array = value as unknown[];
    // Holes or extra properties: a structured clone keeps them, this encoding does not.
    if (Object.keys(array).length !== array.length) throw new Declined();
    writer.byte(Tag.Array);
    writer.u32(array.length);
    for (const element of array) writeValue(element, attachments, seen, depth + 1);
    return;
  }
  if (prototype === Map.prototype) {
    const map = value as Map<unknown, unknown>;
    writer.byte(Tag.Map);
    writer.u32(map.size);
    for (const [key, entry] of map) {
      writeValue(key, attachments, seen, depth + 1);
      writeValue(entry, attachments, seen, depth + 1);
    }
    return;
  }
  throw new Declined();
}

/** A compact encoding that does not decode: the caller reports it. */
export class CompactDecodeError extends Error {}

/** Decodes a compact encoding; attachment references resolve to `attachments`. Throws CompactDecodeError. */
export function compactDecode(bytes: Buffer, attachments: readonly ArrayBufferView[]): unknown {
  if (bytes[0] !== COMPACT_TAG) throw new CompactDecodeError("not a compact encoding");
  const reader = { at: 1 };
  let value: unknown;
  try {
    value = readValue(bytes, reader, attachments, 0);
  } catch (error) {
    if (error instanceof CompactDecodeError) throw error;
    throw new CompactDecodeError((error as Error).message); // e.g. a read past the end
  }
  if (reader.at !== bytes.length) throw new CompactDecodeError(`${bytes.length - reader.at} bytes after the value`);
  return value;
}

function readCount(bytes: Buffer, reader: { at: number }, what: string): number {
  const count = bytes.readUInt32LE(reader.at);
  reader.at += 4;
  // Every element takes at least one byte: a larger count is corrupt, and must not allocate.
  if (count > bytes.length - reader.at)
    throw new CompactDecodeError(`${what} of ${count} entries in ${bytes.length - reader.at} bytes`);
  return count;
}

/** Recently decoded short strings, by a hash of their code units. */
const shortStrings = new Map<number, string>();

function readString(bytes: Buffer, reader: { at: number }): string {
  const units = bytes.readUInt32LE(reader.at);
  reader.at += 4;
  const end = reader.at + units * 2;
  if (end > bytes.length) throw new CompactDecodeError(`string of ${units} units past the end`);
  const start = reader.at;
  reader.at = end;
  if (units > 32) return bytes.toString("utf16le", start, end);
  // Short strings repeat (property names, behavior names): look them up rather than build them.
  let hash = units;
  for (let at = start; at < end; at += 2) hash = Math.imul(hash ^ (bytes[at]! | (bytes[at + 1]! << 8)), 0x01000193);
  const cached = shortStrings.get(hash);
  if (cached !== undefined && cached.length === units) {
    let same = true;
    for (let index = 0, at = start; same && index < units; index++, at += 2)
      same = cached.charCodeAt(index) === (bytes[at]! | (bytes[at + 1]! << 8));
    if (same) return cached;
  }
  const value = bytes.toString("utf16le", start, end);
  if (shortStrings.size >= 4096) shortStrings.clear();
  shortStrings.set(hash, value);
  return value;
}

function readValue(bytes: Buffer, reader: { at: number }, attachments: readonly ArrayBufferView[], depth: number): unknown {
  if (depth > MAX_DEPTH) throw new CompactDecodeError("nested too deeply");
  if (reader.at >= bytes.length) throw new CompactDecodeError("truncated value");
  const tag = bytes[reader.at++]!;
  switch (tag) {
    case Tag.Undefined:
      return undefined;
    case Tag.Null:
      return null;
    case Tag.False:
      return false;
    case Tag.True:
      return true;
    case Tag.Number: {
      const value = bytes.readDoubleLE(reader.at);
      reader.at += 8;
      return value;
    }
    case Tag.String:
      return readString(bytes, reader);
    case Tag.Object: {
      const count = readCount(bytes, reader, "object");
      const object: Record<string, unknown> = {};
      for (let index = 0; index < count; index++) {
        const key = readString(bytes, reader);
        const value = readValue(bytes, reader, attachments, depth + 1);
        // An own "__proto__" property, as a structured clone makes it (an assignment would set the prototype).
        if (key === "__proto__")
          Object.defineProperty(object, key, { value, writable: true, enumerable: true, configurable: true });
        else object[key] = value;
      }
      return object;
    }
    case Tag.Array: {
      const length = readCount(bytes, reader, "array");
      const array: unknown[] = [];
      for (let index = 0; index < length; index++) array.push(readValue(bytes, reader, attachments, depth + 1));
      return array;
    }
    case Tag.Map: {
      const size = readCount(bytes, reader, "map");
      const map = new Map<unknown, unknown>();
      for (let index = 0; index < size; index++) {
        const key = readValue(bytes, reader, attachments, depth + 1);
        map.set(key, readValue(bytes, reader, attachments, depth + 1));
      }
      return map;
    }
    case Tag.Attachment: {
      const index = bytes.readUInt32LE(reader.at);
      reader.at += 4;
      const view = attachments[index];
      if (!view) throw new CompactDecodeError(`reference to attachment ${index} of ${attachments.length}`);
      return view;
    }
    default:
      throw new CompactDecodeError(`unknown tag ${tag} at byte ${reader.at - 1}`);
  }
}
