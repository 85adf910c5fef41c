import { describe, expect, it } from "vitest";
import {
  actorShortName,
  compactRanges,
  elapsed,
  formatAgo,
  formatDuration,
  formatInstant,
  formatMiB,
  statusLabel,
  zoneLabel,
} from "./format";

describe("formatMiB", () => {
  it("shows whole and half GiB as GiB and everything else exactly in MiB", () => {
    expect(formatMiB(8192)).toBe("8 GiB");
    expect(formatMiB(1536)).toBe("1.5 GiB");
    expect(formatMiB(2731)).toBe("2731 MiB");
    expect(formatMiB(512)).toBe("512 MiB");
    expect(formatMiB(0)).toBe("0 GiB");
  });
});

describe("formatDuration", () => {
  it("picks a unit that fits", () => {
    expect(formatDuration(850)).toBe("850 ms");
    expect(formatDuration(3_120)).toBe("3.12 s");
    expect(formatDuration(42_000)).toBe("42.0 s");
    expect(formatDuration(125_000)).toBe("2 m 05 s");
    expect(formatDuration(3_725_000)).toBe("1 h 02 m");
    expect(formatDuration(-1)).toBe("—");
  });
});

describe("elapsed", () => {
  it("measures to the end, or to now while running, and is null before the start", () => {
    const start = new Date(1_000);
    expect(elapsed(start, new Date(4_000), 9_000)).toBe(3_000);
    expect(elapsed(start, null, 9_000)).toBe(8_000);
    expect(elapsed(null, null, 9_000)).toBeNull();
  });
});

describe("compactRanges", () => {
  it("collapses runs of consecutive numbers", () => {
    expect(compactRanges([3, 0, 1, 2, 7, 9, 10])).toBe("0–3, 7, 9–10");
    expect(compactRanges(Array.from({ length: 64 }, (_, i) => i))).toBe("0–63");
    expect(compactRanges([])).toBe("");
    expect(compactRanges([5, 5])).toBe("5");
  });
});

describe("small labels", () => {
  it("shortens actor names, statuses and ages", () => {
    expect(actorShortName("uan://heat/slab-7")).toBe("slab-7");
    expect(actorShortName("not-a-uan")).toBe("not-a-uan");
    expect(statusLabel("rolled_back")).toBe("Rolled back");
    expect(formatAgo(new Date(0), 90_000)).toBe("1 min ago");
    expect(formatAgo(new Date(0), 2_000)).toBe("just now");
  });
});

describe("zoneLabel / formatInstant", () => {
  it("names the zone the times are in", () => {
    // The unit tests run in the machine's zone: check the shape, and UTC exactly when that is the zone.
    const d = new Date("2026-12-01T10:02:33.000Z");
    expect(zoneLabel(d)).toMatch(/^UTC([+−]\d\d:\d\d)?$/);
    expect(formatInstant(d)).toMatch(/^2026-12-0[12] \d\d:\d\d:33 UTC([+−]\d\d:\d\d)?$/);
    if (d.getTimezoneOffset() === 0) expect(formatInstant(d)).toBe("2026-12-01 10:02:33 UTC");
  });
});
