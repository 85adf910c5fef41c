import { describe, expect, it } from "vitest";
import {
  upgradeBlocker,
  upgradeStateNote,
  upgradeStateReadable,
  upgradeStrategies,
  upgradeStrategyText,
  upgradeVersions,
} from "./upgrade";

const tally = { source: "bundle" as const, versions: ["3.0.0", "2.0.0", "1.0.0"] };
const running = { status: "running", kind: "tally", version: "1.0.0" };
const free = [{ lockedBy: null }];

describe("which versions an upgrade offers", () => {
  it("every registered version of a bundle kind but the running one, newest first", () => {
    expect(upgradeVersions(tally, "1.0.0")).toEqual(["3.0.0", "2.0.0"]);
    expect(upgradeVersions(tally, "2.0.0")).toEqual(["3.0.0", "1.0.0"]);
  });

  it("none for an installed kind, an unknown kind, or a bundle kind with only the running version", () => {
    expect(upgradeVersions({ source: "installed", versions: ["1.0.0"] }, "1.0.0")).toEqual([]);
    expect(upgradeVersions({ source: "installed", versions: ["2.0.0"] }, "1.0.0")).toEqual([]);
    expect(upgradeVersions(undefined, "1.0.0")).toEqual([]);
    expect(upgradeVersions({ source: "bundle", versions: ["1.0.0"] }, "1.0.0")).toEqual([]);
  });
});

describe("why the Upgrade action is disabled", () => {
  it("offered on a running bundle application with another version and no operation holding it", () => {
    expect(upgradeBlocker(running, tally, free, true)).toBeNull();
  });

  it("a viewer first, whatever else holds", () => {
    expect(upgradeBlocker({ ...running, status: "stopped" }, undefined, [], false)).toBe(
      "Your role is viewer: an operator upgrades applications",
    );
  });

  it("a deleted application, an installed kind, a kind gone, or no other version registered", () => {
    expect(upgradeBlocker({ ...running, status: "deleted" }, tally, [], true)).toBe("The application is deleted");
    expect(
      upgradeBlocker(
        { status: "running", kind: "heat", version: "1.0.0" },
        { source: "installed", versions: ["1.0.0"] },
        free,
        true,
      ),
    ).toBe("heat is installed with Malleo, not a registered bundle: only a bundle application is upgraded");
    expect(upgradeBlocker(running, undefined, free, true)).toBe("Its kind tally is no longer installed or registered");
    expect(upgradeBlocker(running, { source: "bundle", versions: ["1.0.0"] }, free, true)).toBe(
      "No other version of tally is registered: an admin registers one on the Admin page",
    );
  });

  it("an application that is not running, or whose VMs an operation holds", () => {
    expect(upgradeBlocker({ ...running, status: "stopped" }, tally, free, true)).toBe(
      "Only a running application can be upgraded (it is stopped)",
    );
    const locked = [{ lockedBy: null }, { lockedBy: "0b7f6d2e-1111-2222-3333-444455556666" }];
    expect(upgradeBlocker(running, tally, locked, true)).toBe("Operation 0b7f6d2e holds its VMs: wait for it to finish");
  });
});

describe("what an upgrade does to the actors' states", () => {
  const v1 = { version: "1.0.0", stateVersion: 1, migratesState: false };
  const v11 = { version: "1.1.0", stateVersion: 1, migratesState: false };
  const v2 = { version: "2.0.0", stateVersion: 2, migratesState: true };
  const v3 = { version: "3.0.0", stateVersion: 3, migratesState: false };

  it("the same format: restored as it is", () => {
    expect(upgradeStateNote(v1, v11)).toBe("Same state format (1): each actor's state carries over as it is.");
    expect(upgradeStateReadable(v1, v11)).toBe(true);
  });

  it("offers rolling for the same format, restart (rolling refused, saying why) when it changed", () => {
    expect(upgradeStrategies(v1, v11)).toEqual({ preferred: "rolling", rollingRefusal: null });
    const changed = upgradeStrategies(v1, v2);
    expect(changed.preferred).toBe("restart");
    expect(changed.rollingRefusal).toMatch(/needs the same state format.*\(1 → 2\)/);
    expect(upgradeStrategies(undefined, v2)).toEqual({ preferred: "rolling", rollingRefusal: null });
    expect(upgradeStrategyText("rolling", "1.0.0")).toMatch(/moves every actor to its new VM live/);
    expect(upgradeStrategyText("restart", "1.0.0")).toMatch(/goes back to 1\.0\.0 from the same checkpoint/);
  });

  it("a newer format with migrateState: migrated", () => {
    expect(upgradeStateNote(v1, v2)).toBe(
      "State format 1 → 2: 2.0.0's migrateState rewrites each actor's checkpointed state before it resumes.",
    );
    expect(upgradeStateReadable(v1, v2)).toBe(true);
  });

  it("a newer format without migrateState, or an older format: unreadable", () => {
    expect(upgradeStateNote(v2, v3)).toBe(
      "State format 2 → 3, and 3.0.0 has no migrateState: its actors could not read their checkpointed states.",
    );
    expect(upgradeStateReadable(v2, v3)).toBe(false);
    expect(upgradeStateNote(v2, v1)).toBe(
      "State format 2 → 1: 1.0.0 reads an older format than the running 2.0.0, so its actors could not read their checkpointed states.",
    );
    expect(upgradeStateReadable(v2, v1)).toBe(false);
  });

  it("an unknown running format says only the target's; an unknown target, nothing", () => {
    expect(upgradeStateNote(undefined, v3)).toBe("3.0.0 has state format 3.");
    expect(upgradeStateReadable(undefined, v3)).toBe(true);
    expect(upgradeStateNote(v1, undefined)).toBe("");
  });
});
