import { describe, expect, it } from "vitest";
import { applicationActionBlocker, suggestedApplicationId } from "./application";

describe("application lifecycle actions", () => {
  const free = [{ lockedBy: null }];
  it("offers each action only from the statuses the server accepts, saying why otherwise", () => {
    expect(applicationActionBlocker("stop", { status: "running" }, free, true)).toBeNull();
    expect(applicationActionBlocker("start", { status: "running" }, free, true)).toBe(
      "Only a stopped application can be started (it is running)",
    );
    expect(applicationActionBlocker("start", { status: "stopped" }, free, true)).toBeNull();
    expect(applicationActionBlocker("stop", { status: "degraded" }, free, true)).toBe(
      "Only a running application can be stopped (it is degraded)",
    );
    expect(applicationActionBlocker("delete", { status: "degraded" }, free, true)).toBeNull();
    expect(applicationActionBlocker("delete", { status: "deleted" }, [], true)).toBe("The application is deleted");
  });

  it("refuses a viewer first, and any action while an operation holds one of the VMs", () => {
    expect(applicationActionBlocker("stop", { status: "running" }, free, false)).toMatch(/^Your role is viewer/);
    const locked = [{ lockedBy: null }, { lockedBy: "0b7f6d2e-1111-2222-3333-444455556666" }];
    expect(applicationActionBlocker("delete", { status: "running" }, locked, true)).toBe(
      "Operation 0b7f6d2e holds its VMs: wait for it to finish",
    );
  });

  it("suggests the kind as the id, else the first free numbered one", () => {
    expect(suggestedApplicationId("pagerank", ["heat"])).toBe("pagerank");
    expect(suggestedApplicationId("heat", ["heat", "heat-2"])).toBe("heat-3");
  });
});
