import { describe, expect, it } from "vitest";
import {
  APPLICATION_ACTION_FROM,
  applicationActionInput,
  deployInput,
  planApplicationAction,
  planDeploy,
  planRollingUpgrade,
  upgradeInput,
  upgradeStrategy,
  upgradeStrategyOf,
} from "./deploy";

describe("deploy input and plan", () => {
  const vm = { hostId: "pm-1", vcpus: 2, memoryMiB: 2048 };
  it("refuses a bad application id, no VMs and out-of-range resources, naming each", () => {
    const r = deployInput.safeParse({
      applicationId: "Bad_Id",
      kind: "pagerank",
      config: {},
      vms: [{ ...vm, vcpus: 0, memoryMiB: 64 }],
    });
    expect(r.success).toBe(false);
    expect(r.error!.issues.map((i) => i.path.join("."))).toEqual(["applicationId", "vms.0.vcpus", "vms.0.memoryMiB"]);
    expect(deployInput.safeParse({ applicationId: "a", kind: "k", config: {}, vms: [] }).error!.issues[0]!.message).toMatch(
      /at least 1 VM/,
    );
    expect(deployInput.safeParse({ applicationId: "a", kind: "k", config: {}, vms: [vm], extra: 1 }).success).toBe(false);
  });

  it("plans one target per VM with the actors the layout gave it, and no sources", () => {
    const plan = planDeploy("ranks", [vm, { ...vm, hostId: "pm-2" }], [["a", "b"], ["c"]], (i) => ({
      id: `id-${i}`,
      name: `ranks-${i + 1}`,
    }));
    expect(plan).toEqual({
      kind: "deploy",
      applicationId: "ranks",
      sources: [],
      targets: [
        { id: "id-0", name: "ranks-1", hostId: "pm-1", vcpus: 2, memoryMiB: 2048, actors: ["a", "b"] },
        { id: "id-1", name: "ranks-2", hostId: "pm-2", vcpus: 2, memoryMiB: 2048, actors: ["c"] },
      ],
    });
  });

  it("stop, start and delete act on all of the application's VMs, from the statuses they allow", () => {
    expect(planApplicationAction("delete", "a", [{ id: "v", name: "a-1", hostId: "pm-1" }]).sources).toEqual([
      { id: "v", name: "a-1", hostId: "pm-1" },
    ]);
    expect(APPLICATION_ACTION_FROM.start).toEqual(["stopped"]);
    expect(APPLICATION_ACTION_FROM.delete).not.toContain("deleted");
    expect(applicationActionInput.safeParse({ applicationId: "a", vmId: "x" }).success).toBe(false);
  });
});

describe("upgrade strategy and rolling plan", () => {
  it("rolls when the state format is unchanged, restarts when it changed, and refuses a rolling upgrade across formats", () => {
    expect(upgradeStrategy(undefined, 1, 1)).toEqual({ strategy: "rolling" });
    expect(upgradeStrategy(undefined, 1, 2)).toEqual({ strategy: "restart" });
    expect(upgradeStrategy("restart", 1, 1)).toEqual({ strategy: "restart" });
    expect(upgradeStrategy("rolling", 2, 2)).toEqual({ strategy: "rolling" });
    const refused = upgradeStrategy("rolling", 1, 2);
    expect("refusal" in refused && refused.refusal).toMatch(/same state format.*\(1 → 2\).*strategy restart/);
    // Recorded with the live transfer mode, an upgrade is rolling; otherwise (barrier, none) a restart.
    expect([upgradeStrategyOf("live"), upgradeStrategyOf("barrier"), upgradeStrategyOf(null)]).toEqual([
      "rolling",
      "restart",
      "restart",
    ]);
    expect(upgradeInput.safeParse({ applicationId: "a", version: "2", strategy: "sideways" }).error?.issues[0]?.message).toBe(
      'strategy is "rolling" or "restart"',
    );
  });

  it("plans beside each VM a target of its size on its host with its actors", () => {
    const vms = [
      { id: "v1", name: "a-1", hostId: "pm-1", vcpus: 2, memoryMiB: 512 },
      { id: "v2", name: "a-2", hostId: "pm-2", vcpus: 1, memoryMiB: 256 },
    ];
    const actors: Record<string, string[]> = { v1: ["x", "y"], v2: ["z"] };
    const plan = planRollingUpgrade(
      "a",
      vms,
      (id) => actors[id] ?? [],
      (i) => ({ id: `t${i}`, name: `a-new-${i}` }),
    );
    expect(plan).toEqual({
      kind: "upgrade",
      applicationId: "a",
      sources: [
        { id: "v1", name: "a-1", hostId: "pm-1" },
        { id: "v2", name: "a-2", hostId: "pm-2" },
      ],
      targets: [
        { id: "t0", name: "a-new-0", hostId: "pm-1", vcpus: 2, memoryMiB: 512, actors: ["x", "y"] },
        { id: "t1", name: "a-new-1", hostId: "pm-2", vcpus: 1, memoryMiB: 256, actors: ["z"] },
      ],
    });
  });
});
