import { describe, expect, it } from "vitest";
import { HOST_RECONNECT_BACKOFF, reconnectDelayMs } from "./reconnect-backoff";

describe("reconnectDelayMs", () => {
  const schedule = (random: () => number) =>
    Array.from({ length: 10 }, (_, i) => reconnectDelayMs(i, HOST_RECONNECT_BACKOFF, random));

  it("doubles from 0.5 s up to the 30 s cap (no jitter at the midpoint)", () => {
    expect(schedule(() => 0.5)).toEqual([500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000, 30000]);
  });

  it("jitters each delay by at most ±20% and never past the cap", () => {
    expect(schedule(() => 0)).toEqual([400, 800, 1600, 3200, 6400, 12800, 24000, 24000, 24000, 24000]);
    expect(schedule(() => 0.999999)).toEqual([600, 1200, 2400, 4800, 9600, 19200, 30000, 30000, 30000, 30000]);
  });

  it("spreads hosts that lost their connections at the same moment", () => {
    let seed = 7;
    const random = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
    const firstRetries = Array.from({ length: 20 }, () => reconnectDelayMs(0, HOST_RECONNECT_BACKOFF, random));
    expect(new Set(firstRetries).size).toBeGreaterThan(10);
    expect(firstRetries.every((d) => d >= 400 && d <= 600)).toBe(true);
  });

  it("treats a huge or negative attempt count as the cap and the first retry", () => {
    expect(reconnectDelayMs(10_000, HOST_RECONNECT_BACKOFF, () => 0.5)).toBe(30000);
    expect(reconnectDelayMs(-3, HOST_RECONNECT_BACKOFF, () => 0.5)).toBe(500);
  });
});
