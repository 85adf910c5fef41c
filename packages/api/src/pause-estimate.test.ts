import { describe, expect, it } from "vitest";
import { expectedPause, LIVE_MOVE_OVERHEAD_MS } from "./pause-estimate";

// 64 actors of 10 kB each moved at 1 MB/s: 10 ms per actor, 640 ms for all of them.
const measured = { samples: 3, bytesPerSecond: 1_000_000, actorsPerSecond: 100, bytesPerActor: 10_000 };

describe("expectedPause", () => {
  it("live: each actor pauses for its own move (its bytes at the measured speed) plus a small fixed cost", () => {
    expect(expectedPause(measured, 64, "live")).toEqual({
      mode: "live",
      pauseMs: 10 + LIVE_MOVE_OVERHEAD_MS,
      scope: "each actor",
    });
    // Not how many actors move: the others keep running meanwhile.
    expect(expectedPause(measured, 6400, "live")?.pauseMs).toBe(10 + LIVE_MOVE_OVERHEAD_MS);
  });

  it("barrier: every actor pauses for the whole transfer", () => {
    expect(expectedPause(measured, 64, "barrier")).toEqual({ mode: "barrier", pauseMs: 640, scope: "all actors" });
    expect(expectedPause(measured, 128, "barrier")?.pauseMs).toBe(1280);
  });

  it("falls back to the measured actors per second when bytes were not measured", () => {
    const e = { ...measured, bytesPerSecond: null, bytesPerActor: null };
    expect(expectedPause(e, 64, "live")?.pauseMs).toBe(10 + LIVE_MOVE_OVERHEAD_MS);
    expect(expectedPause(e, 64, "barrier")?.pauseMs).toBe(640);
  });

  it("has no estimate before a transfer was measured", () => {
    const none = { samples: 0, bytesPerSecond: null, actorsPerSecond: null, bytesPerActor: null };
    expect(expectedPause(none, 64, "live")).toBeNull();
    expect(expectedPause(none, 64, "barrier")).toBeNull();
    expect(expectedPause({ ...none, samples: 2 }, 64, "barrier")).toBeNull();
    expect(expectedPause(undefined, 64, "live")).toBeNull();
  });
});
