import { describe, expect, it } from "vitest";
import { ActivityLog } from "./activity-log";

const bitsOf = (w: { bits: Uint8Array; length: number }) =>
  Array.from({ length: w.length }, (_, k) => ((w.bits[k >> 3]! >> (k & 7)) & 1 ? k : -1)).filter((k) => k >= 0);

describe("ActivityLog", () => {
  it("reports the milliseconds in which progress was marked", () => {
    const log = new ActivityLog();
    for (const t of [1_000_000.2, 1_000_000.9, 1_000_003.5, 1_000_010]) log.mark(t);
    expect(bitsOf(log.window(1_000_000, 1_000_020))).toEqual([0, 3, 10]);
  });

  it("forgets what an earlier lap of the ring left, and reads unrecorded time as idle", () => {
    const log = new ActivityLog();
    log.mark(5_000);
    log.mark(5_000 + (1 << 17)); // one full lap later: the same slot
    expect(bitsOf(log.window(5_000, 5_010))).toEqual([]);
    expect(bitsOf(log.window(5_000 + (1 << 17), 5_010 + (1 << 17)))).toEqual([0]);
    expect(bitsOf(log.window(5_100 + (1 << 17), 5_200 + (1 << 17)))).toEqual([]); // after the last mark
  });

  it("clears the slots between two marks far apart", () => {
    const log = new ActivityLog();
    log.mark(0);
    log.mark(100);
    log.mark(100 + (1 << 17) - 50);
    // Slot of ms 100 was reused by nothing, but the window now starts after the ring's reach.
    expect(bitsOf(log.window(100 + (1 << 17) - 60, 100 + (1 << 17) - 40))).toEqual([10]);
  });
});
