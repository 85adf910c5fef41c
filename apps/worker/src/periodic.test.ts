import { describe, expect, it } from "vitest";
import { Periodic } from "./periodic";

describe("Periodic", () => {
  it("never overlaps runs, keeps going after a failure, and stop waits for the run in flight", async () => {
    let active = 0;
    let maxActive = 0;
    let runs = 0;
    const logged: string[] = [];
    let finishedLast = false;
    const loop = new Periodic(
      async () => {
        active++;
        maxActive = Math.max(maxActive, active);
        runs++;
        finishedLast = false;
        await new Promise((r) => setTimeout(r, 5));
        active--;
        finishedLast = true;
        if (runs === 1) throw new Error("first run fails");
      },
      { intervalMs: 1, log: (e) => logged.push(`${String(e.event)}: ${String(e.error)}`), failure: "work failed" },
    );
    loop.start();
    while (runs < 4) await new Promise((r) => setTimeout(r, 2));
    await loop.stop();
    const after = runs;
    await new Promise((r) => setTimeout(r, 20));
    expect(maxActive).toBe(1);
    expect(logged).toEqual(["work failed: first run fails"]);
    expect(finishedLast).toBe(true);
    expect(runs).toBe(after);
  });
});
