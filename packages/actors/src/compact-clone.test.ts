import { deserialize, serialize } from "node:v8";
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { COMPACT_TAG, CompactDecodeError, compactDecode, compactEncode } from "./compact-clone";

function roundTrip(value: unknown): unknown {
  const attachments: ArrayBufferView[] = [];
  const encoded = compactEncode(value, attachments);
  if (!encoded) throw new Error(`declined ${String(value)}`);
  return compactDecode(encoded, attachments);
}

/** What the V8 path (and so migration before the compact encoding) gives: Buffers stay Buffers. */
const v8Clone = (value: unknown) => deserialize(serialize(value));

/** Values the compact encoding covers: plain objects, dense arrays, Maps, primitives, typed arrays. */
const covered = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constantFrom(undefined, null, true, false, 0, -0, NaN, Infinity, -Infinity, Number.MAX_VALUE),
    fc.double(),
    fc.string({ unit: "binary" }), // lone surrogates included
    fc.float64Array({ maxLength: 8 }),
    fc.uint8Array({ maxLength: 8 }).map((bytes) => Buffer.from(bytes)),
    fc.array(tie("value"), { maxLength: 5 }),
    fc.dictionary(fc.string({ unit: "binary" }), tie("value"), { maxKeys: 5 }),
    fc
      .array(fc.tuple(fc.oneof(fc.string(), fc.double(), fc.constant(null)), tie("value")), { maxLength: 4 })
      .map((entries) => new Map(entries)),
  ),
})).value;

describe("compact clone", () => {
  it("gives what V8's structured clone gives, for every value it covers", () => {
    fc.assert(
      fc.property(covered, (value) => {
        const back = roundTrip(value);
        expect(back).toEqual(v8Clone(value));
      }),
      { numRuns: 500 },
    );
    expect(Object.is(roundTrip(-0), -0)).toBe(true);
    expect(roundTrip("\uD800 lone \uDFFF")).toBe("\uD800 lone \uDFFF");
    expect(Object.keys(roundTrip({ b: 1, a: 2, 1: 3, 0: 4 }) as object)).toEqual(["0", "1", "b", "a"]);
  });

  it("clones an object without a prototype as a plain object, as a structured clone does", () => {
    const bare = Object.assign(Object.create(null), { a: 1 });
    const back = roundTrip(bare) as object;
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expect(back).toEqual(v8Clone(bare));
  });

  it("keeps an own __proto__ property as a property, as a structured clone does", () => {
    const value = JSON.parse('{"__proto__": {"polluted": true}, "x": 1}');
    const back = roundTrip(value) as Record<string, unknown>;
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(back, "__proto__")?.value).toEqual({ polluted: true });
    expect(back).toEqual(v8Clone(value));
  });

  it("hands typed arrays over as attachments, in order", () => {
    const first = new Float64Array([1, 2]);
    const second = new Uint8Array([3]);
    const attachments: ArrayBufferView[] = [];
    const encoded = compactEncode({ rows: first, ghosts: new Map([[1, second]]) }, attachments);
    expect(encoded?.[0]).toBe(COMPACT_TAG);
    expect(attachments).toEqual([first, second]);
    expect(attachments[0]).toBe(first);
  });

  it("declines what it does not cover, leaving no attachments behind", () => {
    class Point {
      x = 1;
    }
    const shared = { n: 1 };
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const holey = [1, , 3]; // eslint-disable-line no-sparse-arrays
    const extra = Object.assign([1, 2], { note: "x" });
    let deep: unknown = 1;
    for (let level = 0; level < 100; level++) deep = [deep];
    for (const value of [
      new Set([1]),
      new Date(0),
      new Point(),
      10n,
      Symbol("s"),
      () => 1,
      [shared, shared], // shared within one value: V8 keeps the sharing
      { a: new Uint8Array(2), b: [cyclic] },
      holey,
      extra,
      deep,
      new (class Special extends Map {})(),
    ]) {
      const attachments: ArrayBufferView[] = [];
      expect(compactEncode({ before: new Uint8Array(4), value }, attachments)).toBeNull();
      expect(attachments).toEqual([]);
    }
  });

  it("refuses malformed encodings with a CompactDecodeError, never another error", () => {
    const attachments: ArrayBufferView[] = [];
    const encoded = compactEncode({ name: "x", list: [1, 2, 3], map: new Map([["k", new Uint8Array(1)]]) }, attachments)!;
    for (let length = 0; length < encoded.length; length++)
      expect(() => compactDecode(encoded.subarray(0, length), attachments)).toThrow(CompactDecodeError);
    expect(() => compactDecode(Buffer.concat([encoded, Buffer.from([0])]), attachments)).toThrow(/1 bytes after the value/);
    expect(() => compactDecode(encoded, [])).toThrow(/reference to attachment 0 of 0/);
    expect(() => compactDecode(Buffer.from([COMPACT_TAG, 7, 0xff, 0xff, 0xff, 0xff]), [])).toThrow(/array of 4294967295 entries/);
    let nested = Buffer.from([COMPACT_TAG]);
    for (let level = 0; level < 100; level++) nested = Buffer.concat([nested, Buffer.from([7, 1, 0, 0, 0])]);
    expect(() => compactDecode(Buffer.concat([nested, Buffer.from([1])]), [])).toThrow(/nested too deeply/);
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }), (flips) => {
        const bad = Buffer.from(encoded);
        for (const [at, xor] of flips) bad[at % bad.length] = bad[at % bad.length]! ^ xor;
        try {
          compactDecode(bad, attachments);
        } catch (error) {
          expect(error).toBeInstanceOf(CompactDecodeError);
        }
      }),
      { numRuns: 500 },
    );
  });
});
