import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  ChunkedBytes,
  FRAME_HEADER_BYTES,
  FrameDecoder,
  FrameTooLargeError,
  FrameWithPayload,
  JSON_FRAME_FLAG,
  MAX_FRAME_PAYLOAD_BYTES,
  RAW_PAYLOAD_ALIGNMENT,
  RAW_PAYLOAD_FLAG,
  encodeFrame,
  encodeFrameHead,
  encodeJsonFrame,
} from "./framing";

/** Splits `bytes` at the given cut points (any order, duplicates allowed). */
function chop(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b);
  const pieces: Buffer[] = [];
  let start = 0;
  for (const point of [...points, bytes.length]) {
    pieces.push(bytes.subarray(start, point));
    start = point;
  }
  return pieces;
}

describe("framing", () => {
  it("prefixes the payload with its length", () => {
    const frame = encodeFrame({ hello: "world" });
    expect(frame.readUInt32BE(0)).toBe(frame.length - FRAME_HEADER_BYTES);
  });

  it("carries Float64Array slabs bit for bit, including NaN payloads and -0", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 512 }).map((bytes) => bytes.slice(0, bytes.length - (bytes.length % 8))),
        (bytes) => {
          const slab = new Float64Array(bytes.buffer, bytes.byteOffset, bytes.length / 8);
          const [decoded] = new FrameDecoder().push(encodeFrame({ slab }));
          const roundTripped = (decoded as { slab: Float64Array }).slab;
          expect(roundTripped).toBeInstanceOf(Float64Array);
          expect(
            Buffer.from(roundTripped.buffer, roundTripped.byteOffset, roundTripped.byteLength).equals(Buffer.from(bytes)),
          ).toBe(true);
        },
      ),
    );
    const [special] = new FrameDecoder().push(encodeFrame(new Float64Array([-0, NaN, Infinity])));
    expect(Object.is((special as Float64Array)[0], -0)).toBe(true);
  });

  it("keeps Maps, nested arrays and typed arrays", () => {
    const value = { ghosts: new Map([[3, new Float64Array([1.5, 2.5])]]), list: [1, "two", null], when: new Date(0) };
    expect(new FrameDecoder().push(encodeFrame(value))).toEqual([value]);
  });

  it("decodes any sequence of frames however the stream is chunked", () => {
    const json = fc.jsonValue();
    fc.assert(
      fc.property(fc.array(json, { minLength: 1, maxLength: 8 }), fc.array(fc.nat(), { maxLength: 20 }), (values, cuts) => {
        const stream = Buffer.concat(values.map((value) => encodeFrame(value)));
        const decoder = new FrameDecoder();
        const decoded = chop(stream, cuts).flatMap((piece) => decoder.push(piece));
        expect(decoded).toEqual(values.map((value) => structuredClone(value)));
        expect(decoder.pendingBytes).toBe(0);
      }),
    );
  });

  it("waits for the rest of a partial frame", () => {
    const frame = encodeFrame("partial");
    const decoder = new FrameDecoder();
    expect(decoder.push(frame.subarray(0, 2))).toEqual([]);
    expect(decoder.push(frame.subarray(2, frame.length - 1))).toEqual([]);
    expect(decoder.pendingBytes).toBe(frame.length - 1);
    expect(decoder.push(frame.subarray(frame.length - 1))).toEqual(["partial"]);
  });

  it("refuses a header announcing an oversized frame instead of buffering it", () => {
    const header = Buffer.alloc(FRAME_HEADER_BYTES);
    header.writeUInt32BE(MAX_FRAME_PAYLOAD_BYTES + 1, 0);
    expect(() => new FrameDecoder().push(header)).toThrow(FrameTooLargeError);
  });

  it("applies a lowered limit (an untrusted peer's) and accepts frames up to it", () => {
    const decoder = new FrameDecoder();
    decoder.maxPayloadBytes = 64;
    expect(decoder.push(encodeFrame("small"))).toEqual(["small"]);
    expect(() => decoder.push(encodeFrame("x".repeat(100)))).toThrow("exceeds the limit of 64");
  });

  describe("frames with a raw payload", () => {
    /** A frame as the Channel writes it: the head, then the payload's chunks as they are. */
    const rawFrame = (value: unknown, chunks: Buffer[]) =>
      Buffer.concat([
        encodeFrameHead(
          value,
          chunks.reduce((sum, chunk) => sum + chunk.length, 0),
        ),
        ...chunks,
      ]);

    it("hands over the envelope and the payload bytes, between ordinary frames, however the stream is chunked", () => {
      fc.assert(
        fc.property(
          fc.jsonValue(),
          fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 5 }),
          fc.array(fc.nat(), { maxLength: 20 }),
          (envelope, parts, cuts) => {
            const chunks = parts.map((part) => Buffer.from(part));
            const stream = Buffer.concat([encodeFrame("before"), rawFrame(envelope, chunks), encodeFrame("after")]);
            const decoder = new FrameDecoder();
            const decoded = chop(stream, cuts).flatMap((piece) => decoder.push(piece));
            expect(decoded).toHaveLength(3);
            expect(decoded[0]).toBe("before");
            expect(decoded[2]).toBe("after");
            const frame = decoded[1] as FrameWithPayload;
            expect(frame).toBeInstanceOf(FrameWithPayload);
            expect(frame.value).toEqual(structuredClone(envelope));
            expect(frame.payload.toBuffer().equals(Buffer.concat(chunks))).toBe(true);
            expect(decoder.pendingBytes).toBe(0);
          },
        ),
      );
    });

    it("starts the payload aligned within the frame and keeps it in the chunks it arrived in", () => {
      for (const envelope of ["", "x", { type: "migrate-in", transfer: 12, last: true }]) {
        const head = encodeFrameHead(envelope, 0);
        expect((head.length - FRAME_HEADER_BYTES) % RAW_PAYLOAD_ALIGNMENT).toBe(0);
      }
      const payload = Buffer.alloc(100_000, 3);
      const stream = rawFrame({ type: "t" }, [payload]);
      const decoder = new FrameDecoder();
      const reads = [stream.subarray(0, 40_000), stream.subarray(40_000)].map((piece) => Buffer.from(piece));
      const [frame] = reads.flatMap((piece) => decoder.push(piece)) as FrameWithPayload[];
      expect(frame!.payload.byteLength).toBe(payload.length);
      expect(frame!.payload.chunks.map((chunk) => chunk.buffer)).toEqual(reads.map((read) => read.buffer)); // views, not copies
    });

    it("judges frames with and without a raw payload by limits of their own; 0 refuses raw payloads", () => {
      // As an admitted theater's link to the Mediator: control frames up to a bound, no raw payload.
      const decoder = new FrameDecoder();
      decoder.maxPayloadBytes = 1024;
      decoder.maxRawPayloadBytes = 0;
      expect(decoder.push(encodeFrame("x".repeat(900)))).toEqual(["x".repeat(900)]);
      expect(() => decoder.push(encodeFrame("x".repeat(2000)))).toThrow("exceeds the limit of 1024");
      expect(() => new FrameDecoder().push(rawFrame("x", [Buffer.alloc(8)]))).not.toThrow();
      const noRaw = new FrameDecoder();
      noRaw.maxRawPayloadBytes = 0;
      expect(() => noRaw.push(rawFrame("x", [Buffer.alloc(8)]))).toThrow("a frame with a raw payload is not taken on this link");
      // As a peer link after the handshake: small control frames, large migration batches.
      const peer = new FrameDecoder();
      peer.maxPayloadBytes = 64;
      const batch = peer.push(rawFrame("batch", [Buffer.alloc(4096)]));
      expect((batch[0] as FrameWithPayload).payload.byteLength).toBe(4096);
      expect(() => peer.push(encodeFrame(Buffer.alloc(100)))).toThrow("exceeds the limit of 64");
    });

    it("refuses a raw frame over the limit and one whose envelope does not fit", () => {
      expect(() => encodeFrameHead("x", MAX_FRAME_PAYLOAD_BYTES)).toThrow(FrameTooLargeError);
      const limited = new FrameDecoder();
      limited.maxRawPayloadBytes = 64;
      expect(() => limited.push(rawFrame("x", [Buffer.alloc(100)]))).toThrow("exceeds the limit of 64");

      const frame = rawFrame("envelope", [Buffer.alloc(16)]);
      frame.writeUInt32BE(1_000, FRAME_HEADER_BYTES); // the envelope claims more than the frame holds
      expect(() => new FrameDecoder().push(frame)).toThrow(/announces an envelope of 1000 bytes that does not fit/);
      const tiny = Buffer.alloc(FRAME_HEADER_BYTES + 2);
      tiny.writeUInt32BE((RAW_PAYLOAD_FLAG | 2) >>> 0, 0);
      expect(() => new FrameDecoder().push(tiny)).toThrow(/too short for its envelope length/);
    });
  });

  describe("ChunkedBytes", () => {
    const chunks = [Buffer.from([0, 1, 2, 3, 4]), Buffer.from([5, 6, 7]), Buffer.from([8, 9, 10, 11, 12, 13, 14, 15])];
    const bytes = () => new ChunkedBytes(chunks);

    it("reads any range, as a view when it lies in one chunk and a copy otherwise", () => {
      const all = Buffer.concat(chunks);
      for (let offset = 0; offset <= all.length; offset++)
        for (let length = 0; offset + length <= all.length; length++)
          expect(
            bytes()
              .read(offset, length)
              .equals(all.subarray(offset, offset + length)),
          ).toBe(true);
      expect(bytes().read(1, 3).buffer).toBe(chunks[0]!.buffer);
      expect(bytes().read(3, 4).buffer).not.toBe(chunks[0]!.buffer);
      // Reading backwards after forwards (the cursor restarts).
      const shared = bytes();
      expect(shared.read(12, 2).equals(all.subarray(12, 14))).toBe(true);
      expect(shared.read(0, 2).equals(all.subarray(0, 2))).toBe(true);
    });

    it("copies rather than views a misaligned range, and refuses one outside its bytes", () => {
      expect(bytes().view(1, 2, 2)).toBeNull();
      expect(
        bytes()
          .read(1, 2, 2)
          .equals(Buffer.from([1, 2])),
      ).toBe(true);
      expect(() => bytes().read(10, 7)).toThrow(RangeError);
      expect(() => bytes().read(-1, 1)).toThrow(RangeError);
    });

    it("splits off the bytes from an offset without copying", () => {
      const rest = bytes().from(4);
      expect(rest.byteLength).toBe(12);
      expect(rest.toBuffer().equals(Buffer.concat(chunks).subarray(4))).toBe(true);
      expect(rest.chunks[0]!.buffer).toBe(chunks[0]!.buffer);
    });
  });

  it("marks JSON frames in the header and decodes them as JSON, never as structured clones", () => {
    const frame = encodeJsonFrame({ type: "admit", n: 1 });
    expect(frame.readUInt32BE(0) & JSON_FRAME_FLAG).not.toBe(0);
    const [raw] = new FrameDecoder().pushRaw(frame);
    expect(raw!.json).toBe(true);
    expect(raw!.rawPayload).toBe(false);
    expect(JSON.parse((raw!.payload as Buffer).toString("utf8"))).toEqual({ type: "admit", n: 1 });
    expect(new FrameDecoder().push(Buffer.concat([encodeJsonFrame("a"), encodeFrame("b")]))).toEqual(["a", "b"]);
    // The flag does not count towards the length limit; the length itself does.
    const decoder = new FrameDecoder();
    decoder.maxPayloadBytes = 8;
    expect(() => decoder.push(encodeJsonFrame("x".repeat(20)))).toThrow("exceeds the limit of 8");
  });

  it("keeps the JSON flag and the raw-payload flag on different bits, above any length", () => {
    expect(JSON_FRAME_FLAG & RAW_PAYLOAD_FLAG).toBe(0);
    expect(JSON_FRAME_FLAG).toBeGreaterThan(MAX_FRAME_PAYLOAD_BYTES);
    expect(RAW_PAYLOAD_FLAG).toBeGreaterThan(MAX_FRAME_PAYLOAD_BYTES);
    expect(encodeFrame("v8").readUInt32BE(0) & (JSON_FRAME_FLAG | RAW_PAYLOAD_FLAG)).toBe(0);
    expect(encodeJsonFrame("json").readUInt32BE(0) & RAW_PAYLOAD_FLAG).toBe(0);
    expect(encodeFrameHead("raw", 3).readUInt32BE(0) & JSON_FRAME_FLAG).toBe(0);
  });

  it("decodes V8, JSON and raw-payload frames mixed in one stream, however it is chunked", () => {
    fc.assert(
      fc.property(
        fc.jsonValue(),
        fc.uint8Array({ maxLength: 200 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        (value, bytes, cuts) => {
          const payload = Buffer.from(bytes);
          const stream = Buffer.concat([
            encodeFrame(value),
            encodeJsonFrame({ type: "admit" }),
            encodeFrameHead(value, payload.length),
            payload,
            encodeJsonFrame("last"),
          ]);
          const decoder = new FrameDecoder();
          const frames = chop(stream, cuts).flatMap((piece) => decoder.pushRaw(piece));
          expect(frames.map((frame) => [frame.json, frame.rawPayload])).toEqual([
            [false, false],
            [true, false],
            [false, true],
            [true, false],
          ]);
          const decoded = new FrameDecoder().push(stream);
          expect(decoded[0]).toEqual(structuredClone(value));
          expect(decoded[1]).toEqual({ type: "admit" });
          expect((decoded[2] as FrameWithPayload).value).toEqual(structuredClone(value));
          expect((decoded[2] as FrameWithPayload).payload.toBuffer().equals(payload)).toBe(true);
          expect(decoded[3]).toBe("last");
        },
      ),
    );
  });

  it("refuses a header that marks both a JSON frame and a raw payload", () => {
    const frame = encodeJsonFrame("x");
    frame.writeUInt32BE((frame.readUInt32BE(0) | RAW_PAYLOAD_FLAG) >>> 0, 0);
    expect(() => new FrameDecoder().push(frame)).toThrow(RangeError);
  });
});
