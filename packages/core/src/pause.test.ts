import { describe, expect, it } from "vitest";
import { applicationPause, distribution, longestIdleMs, normalGapMs, type ActivityBits } from "./pause";

/** A window with progress at the given milliseconds. */
function active(startMs: number, length: number, at: number[]): ActivityBits {
  const bits = new Uint8Array(Math.ceil(length / 8));
  for (const ms of at) {
    const k = ms - startMs;
    bits[k >> 3]! |= 1 << (k & 7);
  }
  return { startMs, bits, length };
}
const every = (from: number, to: number, step: number) =>
  Array.from({ length: Math.ceil((to - from) / step) }, (_, i) => from + i * step);

describe("longestIdleMs", () => {
  it("is the longest run of milliseconds no theater shows progress in", () => {
    const a = active(1000, 100, [1000, 1010, 1050]);
    expect(longestIdleMs([a], 1000, 1100)).toBe(49); // 1051..1099
    expect(longestIdleMs([a], 1000, 1050)).toBe(39); // 1011..1049
  });

  it("unions theaters: one theater's progress covers another's idle time", () => {
    const a = active(0, 100, every(0, 50, 5));
    const b = active(0, 100, every(50, 100, 5));
    expect(longestIdleMs([a], 0, 100)).toBe(54);
    expect(longestIdleMs([a, b], 0, 100)).toBe(4);
  });

  it("counts milliseconds outside every window as idle", () => {
    expect(longestIdleMs([active(100, 10, [100, 109])], 0, 200)).toBe(100);
  });
});

describe("applicationPause", () => {
  it("is the longest idle stretch during the hold less the normal gap before", () => {
    // Progress every 5 ms, the last at 1995 before a stop, the next at 2060: 64 ms idle, normally 4.
    const w = active(0, 3000, [...every(0, 2000, 5), ...every(2060, 3000, 5)]);
    expect(applicationPause([w], 1900, 2500)).toEqual({ pauseMs: 60, idleMs: 64, normalGapMs: 4 });
  });

  it("takes the median gap before, so one long stall before the operation does not hide a pause", () => {
    // Progress every 10 ms, one 300 ms stall before the operation, then a 100 ms stop during it.
    const before = [...every(0, 1000, 10), ...every(1300, 2000, 10)];
    const w = active(0, 3000, [...before, ...every(2100, 3000, 10)]);
    expect(applicationPause([w], 2000, 2500)).toEqual({ pauseMs: 91, idleMs: 100, normalGapMs: 9 });
  });

  it("is null for an application that made no progress before (finished or stopped)", () => {
    expect(applicationPause([active(0, 3000, every(2100, 3000, 5))], 2000, 2500)).toBeNull();
  });
});

describe("normalGapMs", () => {
  it("is the median idle stretch over the baseline before a moment, whatever follows it", () => {
    // Every 10 ms before 2000, every 50 ms after: the gap before 2000 is 9, before 3000 it is 49.
    const w = active(0, 4000, [...every(0, 2000, 10), ...every(2000, 4000, 50)]);
    expect(normalGapMs([w], 2000)).toBe(9);
    expect(normalGapMs([w], 3000)).toBe(49);
    expect(normalGapMs([w], 2000, 500)).toBe(9);
  });

  it("is null when nothing progressed in the baseline, and 0 when every millisecond did", () => {
    expect(normalGapMs([active(0, 3000, every(2100, 3000, 5))], 2000)).toBeNull();
    expect(normalGapMs([active(0, 3000, every(0, 3000, 1))], 2000)).toBe(0);
  });
});

describe("distribution", () => {
  it("gives nearest-rank p50, p99 and the max", () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(distribution(values)).toEqual({ count: 100, p50: 50, p99: 99, max: 100 });
    expect(distribution([7])).toEqual({ count: 1, p50: 7, p99: 7, max: 7 });
    expect(distribution([])).toBeNull();
  });
});
