import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  FRAME_HEADER_BYTES,
  FrameDecoder,
  FrameTooLargeError,
  JSON_FRAME_FLAG,
  MAX_FRAME_PAYLOAD_BYTES,
  encodeFrame,
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

  it("marks JSON frames in the header and decodes them as JSON, never as structured clones", () => {
    const frame = encodeJsonFrame({ type: "admit", n: 1 });
    expect(frame.readUInt32BE(0) & JSON_FRAME_FLAG).not.toBe(0);
    const [raw] = new FrameDecoder().pushRaw(frame);
    expect(raw!.json).toBe(true);
    expect(JSON.parse(raw!.payload.toString("utf8"))).toEqual({ type: "admit", n: 1 });
    expect(new FrameDecoder().push(Buffer.concat([encodeJsonFrame("a"), encodeFrame("b")]))).toEqual(["a", "b"]);
    // The flag does not count towards the length limit; the length itself does.
    const decoder = new FrameDecoder();
    decoder.maxPayloadBytes = 8;
    expect(() => decoder.push(encodeJsonFrame("x".repeat(20)))).toThrow("exceeds the limit of 8");
  });
});
