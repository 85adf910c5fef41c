import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { ChunkedBytes } from "./framing";
import { MigrationFrameError, decodeMigrationBatch, encodeMigratedActor, encodeMigrationBatch } from "./migration-codec";
import type { MigratedActor } from "./protocol";

function actor(uan: string, state: unknown, extra: Partial<MigratedActor> = {}): MigratedActor {
  return {
    uan,
    behavior: "test.behavior",
    state,
    mailbox: [],
    sendSeq: new Map(),
    recvNext: new Map(),
    reorder: new Map(),
    profile: { receivedFrom: new Map(), sentTo: new Map(), handled: 0, busyMs: 0 },
    ...extra,
  };
}

/** The batch as one buffer, the way a frame that arrived in a single read hands it over. */
function encode(actors: MigratedActor[]): Buffer {
  return Buffer.concat(encodeMigrationBatch(actors.map(encodeMigratedActor)));
}

/** Splits `bytes` at the given cut points into fresh buffers, as separate socket reads arrive. */
function reads(bytes: Buffer, cuts: number[]): ChunkedBytes {
  const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let start = 0;
  for (const point of [...points, bytes.length]) {
    if (point > start) chunks.push(Buffer.from(bytes.subarray(start, point))); // a copy: own memory, offset 0
    start = point;
  }
  return new ChunkedBytes(chunks);
}

function bytesOf(view: ArrayBufferView): Buffer {
  return Buffer.from(view.buffer, view.byteOffset, view.byteLength);
}

describe("migration codec", () => {
  it("round-trips every typed-array kind bit for bit, keeping its type", () => {
    const source = new Uint8Array(64).map((_, index) => (index * 37 + 11) & 0xff);
    const at = (offset: number, length: number) => source.buffer.slice(offset, offset + length);
    const state = {
      buffer: Buffer.from("a Buffer stays a Buffer"),
      u8: new Uint8Array([0, 1, 254, 255]),
      i8: new Int8Array([-128, -1, 0, 127]),
      clamped: new Uint8ClampedArray([0, 128, 255]),
      i16: new Int16Array(at(0, 16)),
      u16: new Uint16Array(at(16, 16)),
      i32: new Int32Array(at(8, 24)),
      u32: new Uint32Array(at(32, 8)),
      f32: new Float32Array([1.5, -0, NaN, Infinity]),
      f64: new Float64Array([-0, NaN, Infinity, -Infinity, Number.MIN_VALUE, Math.PI]),
      i64: new BigInt64Array([-(2n ** 63n), -1n, 0n, 2n ** 63n - 1n]),
      u64: new BigUint64Array([0n, 2n ** 64n - 1n]),
      view: new DataView(at(0, 24), 3, 17),
      empty: new Float64Array(0),
    };
    const nanBits = new Float64Array(1);
    new DataView(nanBits.buffer).setBigUint64(0, 0x7ff8_dead_beef_0001n, true); // a NaN with a payload
    const [decoded] = decodeMigrationBatch(encode([actor("uan://t/kinds", { ...state, nanBits })]));
    const got = decoded!.state as typeof state & { nanBits: Float64Array };
    for (const [key, value] of Object.entries({ ...state, nanBits })) {
      const back = got[key as keyof typeof got] as ArrayBufferView;
      expect(back.constructor, key).toBe(value.constructor);
      expect(bytesOf(back).equals(bytesOf(value)), key).toBe(true);
    }
    expect(Object.is(got.f64[0], -0)).toBe(true);
    expect(got.i64[0]).toBe(-(2n ** 63n));
  });

  it("sends only a view's window, not the rest of its ArrayBuffer", () => {
    const big = new Float64Array(1000).map((_, index) => index);
    const window = big.subarray(10, 14);
    const payload = encode([actor("uan://t/window", { window })]);
    expect(payload.length).toBeLessThan(400);
    const [decoded] = decodeMigrationBatch(payload);
    expect(Array.from((decoded!.state as { window: Float64Array }).window)).toEqual([10, 11, 12, 13]);
  });

  it("keeps nested state, Maps, Sets, Dates and shared references within one actor", () => {
    const slab = new Float64Array([1, 2, 3]);
    const state = {
      grid: {
        rows: [slab, slab],
        meta: new Map<unknown, unknown>([
          ["when", new Date(5)],
          [7, new Set(["x", new Int32Array([9])])],
        ]),
      },
      nothing: null,
      text: "ünïcødé ✓",
      big: 12345678901234567890n,
    };
    const [decoded] = decodeMigrationBatch(encode([actor("uan://t/nested", state)]));
    const got = decoded!.state as typeof state;
    expect(got).toEqual(state);
    expect(got.grid.rows[0]).toBe(got.grid.rows[1]); // one array, referenced twice, as before
  });

  it("gives each actor its own copy of what two actors shared at the source", () => {
    const shared = { ghost: new Float64Array([4, 5]) };
    const [first, second] = decodeMigrationBatch(encode([actor("uan://t/a", shared), actor("uan://t/b", shared)]));
    const a = first!.state as typeof shared;
    const b = second!.state as typeof shared;
    expect(a).toEqual(shared);
    expect(a).not.toBe(b);
    a.ghost[0] = 99;
    expect(b.ghost[0]).toBe(4);
  });

  it("carries mailboxes (with typed arrays in message bodies), delivery order and profile", () => {
    const record = actor(
      "uan://t/mail",
      { n: 1 },
      {
        mailbox: [
          { kind: "start" },
          { kind: "message", from: "uan://t/peer", body: { halo: new Float64Array([0.25, 0.5]) } },
          { kind: "message", from: null, body: "external" },
        ],
        sendSeq: new Map([["uan://t/peer", 3]]),
        recvNext: new Map([["uan://t/peer", 7]]),
        reorder: new Map([["uan://t/peer", new Map([[9, { from: "uan://t/peer", body: new Uint16Array([1, 2]) }]])]]),
        profile: { receivedFrom: new Map([["external", 2]]), sentTo: new Map([["uan://t/peer", 3]]), handled: 5, busyMs: 1.25 },
      },
    );
    expect(decodeMigrationBatch(encode([record]))).toEqual([record]);
  });

  it("round-trips an empty batch and actors without typed arrays", () => {
    expect(decodeMigrationBatch(encode([]))).toEqual([]);
    const plain = [actor("uan://t/p1", { count: 1 }), actor("uan://t/p2", null)];
    expect(decodeMigrationBatch(encode(plain))).toEqual(plain);
  });

  it("decodes a large batch however its bytes were split into reads", () => {
    const actors = Array.from({ length: 64 }, (_, index) =>
      actor(`uan://t/big-${index}`, {
        data: new Uint8Array(32 * 1024).map((_, at) => (at * 31 + index) & 0xff),
        slab: new Float64Array(1 + index).map((_, at) => at + index / 8),
        small: new Int16Array([index, -index]),
      }),
    );
    actors.push(actor("uan://t/huge", { data: new Uint8Array(6 * 1024 * 1024).fill(7) }));
    const payload = encode(actors);
    fc.assert(
      fc.property(fc.array(fc.nat(), { maxLength: 40 }), (cuts) => {
        const decoded = decodeMigrationBatch(reads(payload, cuts));
        expect(decoded.length).toBe(actors.length);
        for (const [index, back] of decoded.entries()) {
          const want = actors[index]!.state as Record<string, ArrayBufferView>;
          const got = back.state as Record<string, ArrayBufferView>;
          for (const key of Object.keys(want)) {
            expect(got[key]!.constructor).toBe(want[key]!.constructor);
            expect(bytesOf(got[key]!).equals(bytesOf(want[key]!))).toBe(true);
          }
        }
      }),
      { numRuns: 20 },
    );
  });

  it("decodes typed arrays as views of the received bytes when they fit in one read, aligned", () => {
    const payload = encode([actor("uan://t/view", { data: new Uint8Array(4096).fill(1), slab: new Float64Array(512).fill(2) })]);
    const received = ChunkedBytes.of(Buffer.from(payload)); // one read, at offset 0 of its memory
    const [decoded] = decodeMigrationBatch(received);
    const state = decoded!.state as { data: Uint8Array; slab: Float64Array };
    expect(state.data.buffer).toBe(received.chunks[0]!.buffer);
    expect(state.slab.buffer).toBe(received.chunks[0]!.buffer);

    // Handed over at an odd address: the Float64Array cannot view it, so it is copied, intact.
    const odd = Buffer.alloc(payload.length + 1);
    payload.copy(odd, 1);
    const [copied] = decodeMigrationBatch(odd.subarray(1));
    const slab = (copied!.state as { slab: Float64Array }).slab;
    expect(slab.byteOffset % 8).toBe(0);
    expect(slab.every((value) => value === 2)).toBe(true);
  });

  it("refuses state it cannot clone, naming the problem", () => {
    expect(() => encodeMigratedActor(actor("uan://t/fn", { callback: () => 1 }))).toThrow(/could not be cloned/);
  });

  describe("malformed or truncated batches are refused with a MigrationFrameError", () => {
    const sample = encode([
      actor("uan://t/m1", { data: new Float64Array([1, 2, 3]), note: "x" }),
      actor("uan://t/m2", { data: new Uint8Array([4, 5]) }, { mailbox: [{ kind: "start" }] }),
    ]);

    const refused = (payload: Uint8Array | ChunkedBytes, message?: RegExp) => {
      let error: unknown;
      try {
        decodeMigrationBatch(payload);
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(MigrationFrameError);
      if (message) expect((error as Error).message).toMatch(message);
    };

    it("at every truncation length", () => {
      for (let length = 0; length < sample.length; length++) refused(sample.subarray(0, length));
      refused(sample.subarray(0, 3), /truncated: the preamble needs 8 bytes, the batch has 3/);
    });

    it("with bytes after the last attachment", () => {
      refused(Buffer.concat([sample, Buffer.alloc(8)]), /8 bytes after the last attachment/);
    });

    it("with a wrong magic number", () => {
      const bad = Buffer.from(sample);
      bad[0] = bad[0]! ^ 0xff;
      refused(bad, /bad magic/);
    });

    it("with an absurd record count, without trying to allocate for it", () => {
      const bad = Buffer.from(sample);
      bad.writeUInt32LE(0xffff_ffff, 4);
      refused(bad, /the table of 4294967295 records/);
    });

    it("with an unknown typed-array kind or a length that is not whole elements", () => {
      const attachmentTable = 8 + 8 * 2;
      const unknownKind = Buffer.from(sample);
      unknownKind.writeUInt32LE(999, attachmentTable);
      refused(unknownKind, /attachment 0 has unknown kind 999/);
      const partial = Buffer.from(sample);
      partial.writeUInt32LE(23, attachmentTable + 4); // 23 bytes of Float64Array
      refused(partial, /not a whole number of Float64Array elements/);
    });

    it("with a skeleton that references a missing attachment or is garbage", () => {
      const noAttachments = Buffer.from(sample);
      noAttachments.writeUInt32LE(0, 8 + 4); // record 0 claims no attachments: its reference dangles
      noAttachments.writeUInt32LE(2, 8 + 12); // …and record 1 claims both
      refused(noAttachments, /record 0: reference to attachment 0 of 0/);
      const skeletonStart = 8 + 8 * 2 + 8 * 2;
      const garbage = Buffer.from(sample);
      garbage.fill(0xee, skeletonStart + 2, skeletonStart + 20);
      refused(garbage, /record 0/);
    });

    it("with a record that is not an actor record", () => {
      const notRecord = (value: unknown) => Buffer.concat(encodeMigrationBatch([encodeMigratedActor(value as MigratedActor)]));
      refused(notRecord("just a string"), /record 0: not an object/);
      refused(notRecord({ uan: 42 }), /record 0: uan is not a string/);
      refused(notRecord({ ...actor("uan://t/x", 1), sendSeq: {} }), /sendSeq of uan:\/\/t\/x is not a Map/);
    });

    it("whatever bytes are flipped: decoded or refused, never another error", () => {
      fc.assert(
        fc.property(fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 6 }), (flips) => {
          const bad = Buffer.from(sample);
          for (const [at, xor] of flips) bad[at % bad.length] = bad[at % bad.length]! ^ xor;
          try {
            decodeMigrationBatch(bad);
          } catch (error) {
            expect(error).toBeInstanceOf(MigrationFrameError);
          }
        }),
        { numRuns: 300 },
      );
    });
  });
});
