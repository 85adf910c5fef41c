import { describe, expect, it } from "vitest";
import { waitFor, waitUntil } from "./wait";

describe("waitFor", () => {
  it("polls until the probe returns a value and returns it", async () => {
    let calls = 0;
    const v = await waitFor("the third call", async () => (++calls === 3 ? { calls } : undefined), { intervalMs: 0 });
    expect(v).toEqual({ calls: 3 });
  });

  it("fails naming what it waited for once the deadline has passed", async () => {
    await expect(waitFor("Godot", () => undefined, { timeoutMs: 0, intervalMs: 0 })).rejects.toThrow(
      "timed out after 0 s waiting for Godot",
    );
  });

  it("lets a throwing probe fail the wait unless told to ignore errors", async () => {
    await expect(
      waitFor("a broken probe", () => {
        throw new Error("connection refused");
      }),
    ).rejects.toThrow("connection refused");
    let calls = 0;
    const v = await waitFor(
      "a probe that recovers",
      () => {
        if (++calls < 3) throw new Error("connection refused");
        return "up";
      },
      { intervalMs: 0, ignoreErrors: true },
    );
    expect([v, calls]).toEqual(["up", 3]);
  });
});

describe("waitUntil", () => {
  it("polls until the condition holds", async () => {
    let calls = 0;
    await waitUntil("the condition", () => ++calls === 4, { intervalMs: 0 });
    expect(calls).toBe(4);
  });

  it("takes the deadline as a number too", async () => {
    await expect(waitUntil("never", async () => false, 0)).rejects.toThrow("timed out after 0 s waiting for never");
  });
});
