import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { AppError } from "../errors";
import { planMerge, planSplit } from "./plan";
import { checkPlanPlacement, type PlacementHost } from "./problems";
import { previewMerge, previewSplit, type PreviewVm } from "./preview";
import { defaultMergeTarget, defaultSplitTargets } from "./targets";

function vm(name: string, hostId: string, vcpus: number, memoryMiB: number, extra: Partial<PreviewVm> = {}): PreviewVm {
  return {
    id: `id-${name}`,
    name,
    hostId,
    applicationId: "heat",
    state: "running",
    lockedBy: null,
    actorCount: 0,
    vcpus,
    memoryMiB,
    ...extra,
  };
}

function host(id: string, vms: PreviewVm[], cap: Partial<PlacementHost> = {}): PlacementHost {
  return { id, cpus: 8, memoryMiB: 16384, vmQuota: 4, status: "online", statusReason: null, vms, ...cap };
}

const heat1 = vm("heat-1", "pm-1", 4, 8192, { actorCount: 64 });
const demo = () => [host("pm-1", [heat1], { cpus: 16, memoryMiB: 32768 }), host("pm-2", []), host("pm-3", [])];
const messages = (p: { problems: { message: string }[] }) => p.problems.map((x) => x.message);

describe("defaultSplitTargets", () => {
  it("spreads new VMs over the other hosts first", () => {
    expect(defaultSplitTargets(demo(), heat1, 2)).toEqual(["pm-2", "pm-3"]);
  });

  it("uses the source's host too once the others have taken one each", () => {
    expect(defaultSplitTargets(demo(), heat1, 3)).toEqual(["pm-2", "pm-3", "pm-1"]);
    expect(defaultSplitTargets(demo(), heat1, 4)).toEqual(["pm-2", "pm-3", "pm-1", "pm-2"]);
  });

  it("avoids a host that is full, and one that is unreachable", () => {
    const full = host("pm-2", [
      vm("a", "pm-2", 1, 256),
      vm("b", "pm-2", 1, 256),
      vm("c", "pm-2", 1, 256),
      vm("d", "pm-2", 1, 256),
    ]);
    expect(defaultSplitTargets([host("pm-1", [heat1]), full], heat1, 2)).toEqual(["pm-1", "pm-1"]);
    const down = host("pm-3", [], { status: "unreachable", statusReason: "connection refused" });
    expect(defaultSplitTargets([host("pm-1", [heat1]), down], heat1, 2)).toEqual(["pm-1", "pm-1"]);
  });
});

describe("previewSplit", () => {
  it("accepts the demo split: the shares, the actors in contiguous runs, the hosts after", () => {
    const p = previewSplit({ hosts: demo(), source: heat1, targetHostIds: ["pm-2", "pm-3"] });
    expect(p.problems).toEqual([]);
    expect(p.targets).toEqual([
      { hostId: "pm-2", vcpus: 2, memoryMiB: 4096, actors: 32 },
      { hostId: "pm-3", vcpus: 2, memoryMiB: 4096, actors: 32 },
    ]);
    expect(p.division).toEqual({ even: true });
    expect(p.hostsAfter).toEqual([
      { hostId: "pm-1", slots: 0, vmQuota: 4, vcpus: 0, limitVcpus: 16, memoryMiB: 0, limitMemoryMiB: 32768 },
      { hostId: "pm-2", slots: 1, vmQuota: 4, vcpus: 2, limitVcpus: 8, memoryMiB: 4096, limitMemoryMiB: 16384 },
      { hostId: "pm-3", slots: 1, vmQuota: 4, vcpus: 2, limitVcpus: 8, memoryMiB: 4096, limitMemoryMiB: 16384 },
    ]);
  });

  it("states an uneven division as it is: a 3-way split of 4 vCPUs and 8 GiB", () => {
    const p = previewSplit({ hosts: demo(), source: heat1, targetHostIds: ["pm-1", "pm-2", "pm-3"] });
    expect(p.division).toEqual({ even: false });
    expect(p.targets.map((t) => [t.vcpus, t.memoryMiB])).toEqual([
      [2, 2731],
      [1, 2731],
      [1, 2730],
    ]);
  });

  it("counts earlier targets on the same host: the choices and the hosts after", () => {
    const hosts = [host("pm-1", [heat1]), host("pm-2", [vm("x", "pm-2", 1, 256)], { vmQuota: 3 })];
    const p = previewSplit({ hosts, source: heat1, targetHostIds: ["pm-2", "pm-2"] });
    // Each target's choice of pm-2 shows what is left once the other new VM is there.
    expect(p.choices[0]!.find((c) => c.hostId === "pm-2")!.free).toEqual({ slots: 1, vcpus: 5, memoryMiB: 12032 });
    expect(p.choices[1]!.find((c) => c.hostId === "pm-2")!.free).toEqual({ slots: 1, vcpus: 5, memoryMiB: 12032 });
    expect(p.hostsAfter.find((h) => h.hostId === "pm-2")!.slots).toBe(3);
    // A third new VM on pm-2 is one too many, and the sentence counts all three.
    const three = previewSplit({ hosts, source: heat1, targetHostIds: ["pm-2", "pm-2", "pm-2"] });
    expect(messages(three)).toEqual(["host pm-2 has 2 of 3 VM slots free; the operation needs 3"]);
    expect(three.choices[2]!.find((c) => c.hostId === "pm-2")!.free.slots).toBe(0);
  });

  it("gives an unreachable host one clear problem, not a capacity sentence, and offers it as not choosable", () => {
    const down = host("pm-3", [], { status: "unreachable", statusReason: "connection refused", cpus: 0, memoryMiB: 0 });
    const p = previewSplit({
      hosts: [host("pm-1", [heat1]), host("pm-2", []), down],
      source: heat1,
      targetHostIds: ["pm-2", "pm-3"],
    });
    expect(p.problems).toHaveLength(1);
    expect(p.problems[0]).toMatchObject({ code: "HOST_UNREACHABLE", hostId: "pm-3" });
    expect(p.problems[0]!.message).toMatch(/^host pm-3 is unreachable \(connection refused\); no VM can be created on it/);
    expect(p.choices[0]!.find((c) => c.hostId === "pm-3")).toMatchObject({
      choosable: false,
      reason: "unreachable: connection refused",
    });
  });

  it("explains a host without free slots with the server's own words", () => {
    const full = host("pm-2", [vm("a", "pm-2", 1, 256), vm("b", "pm-2", 1, 256), vm("c", "pm-2", 1, 256)]);
    const p = previewSplit({ hosts: [demo()[0]!, full], source: heat1, targetHostIds: ["pm-2", "pm-2"] });
    expect(p.problems).toEqual([
      {
        code: "QUOTA_EXCEEDED",
        message: "host pm-2 has 1 of 4 VM slots free; the operation needs 2",
        hostId: "pm-2",
        details: { hostId: "pm-2", free: 1, quota: 4, needed: 2 },
      },
    ]);
  });

  it("explains a division below the memory floor, a locked VM and a host not registered", () => {
    const small = vm("small", "pm-1", 4, 768);
    expect(
      previewSplit({ hosts: [host("pm-1", [small])], source: small, targetHostIds: ["pm-1", "pm-1", "pm-1", "pm-1"] })
        .problems[0],
    ).toMatchObject({
      code: "SPLIT_TOO_SMALL",
      message: expect.stringMatching(/below the 256 MiB floor/),
    });
    const locked = { ...heat1, lockedBy: "0b1c2d3e-0000-4000-8000-000000000000" };
    expect(messages(previewSplit({ hosts: demo(), source: locked, targetHostIds: ["pm-2", "pm-3"] }))).toEqual([
      "VM heat-1 is held by operation 0b1c2d3e-0000-4000-8000-000000000000; wait for it to finish",
    ]);
    expect(messages(previewSplit({ hosts: demo(), source: heat1, targetHostIds: ["pm-2", "pm-7"] }))).toEqual([
      "host pm-7 is not registered",
    ]);
  });

  it("refuses at ratio 1 and accepts at ratio 2 what the host's overcommit allows", () => {
    const busy = vm("busy", "pm-2", 6, 1024);
    expect(
      messages(
        previewSplit({ hosts: [host("pm-1", [heat1]), host("pm-2", [busy])], source: heat1, targetHostIds: ["pm-2", "pm-2"] }),
      ),
    ).toEqual(["host pm-2 has 2 of 8 vCPUs free; the operation needs 4"]);
    expect(
      previewSplit({
        hosts: [host("pm-1", [heat1]), host("pm-2", [busy], { cpuOvercommit: 2 })],
        source: heat1,
        targetHostIds: ["pm-2", "pm-2"],
      }).problems,
    ).toEqual([]);
  });
});

describe("previewMerge / defaultMergeTarget", () => {
  const a = vm("heat-a", "pm-2", 2, 4096, { actorCount: 3 });
  const b = vm("heat-b", "pm-3", 2, 4096, { actorCount: 5 });
  const hosts = [host("pm-1", [], { cpus: 16, memoryMiB: 32768 }), host("pm-2", [a]), host("pm-3", [b])];

  it("needs two VMs of one application", () => {
    expect(messages(previewMerge({ hosts, sources: [a], targetHostId: "pm-1" }))).toEqual(["a merge needs at least 2 VMs"]);
    expect(messages(previewMerge({ hosts, sources: [a, { ...b, applicationId: "crawler" }], targetHostId: "pm-1" }))).toEqual([
      "VMs of different applications (heat, crawler) cannot be merged",
    ]);
  });

  it("counts the sources as leaving their hosts, and sums them", () => {
    const p = previewMerge({ hosts, sources: [a, b], targetHostId: "pm-2" });
    expect(p.problems).toEqual([]);
    expect(p.targets).toEqual([{ hostId: "pm-2", vcpus: 4, memoryMiB: 8192, actors: 8 }]);
  });

  it("explains a host too small for the sum", () => {
    const tiny = host("pm-4", [], { cpus: 2 });
    expect(messages(previewMerge({ hosts: [...hosts, tiny], sources: [a, b], targetHostId: "pm-4" }))).toEqual([
      "host pm-4 has 2 of 2 vCPUs free; the operation needs 4",
    ]);
  });

  it("suggests a source's host that can take the merged VM", () => {
    expect(defaultMergeTarget(hosts, [a, b])).toBe("pm-2");
  });
});

/**
 * The preview is advice; the server is the authority. For any hosts and request, the preview has
 * no problem exactly when the server's validation (planSplit/planMerge, then checkPlanPlacement
 * as submit runs it) accepts, and when it refuses, its refusal is the preview's first problem.
 */
describe("the preview's verdict is the server's", () => {
  const hostIds = ["pm-1", "pm-2", "pm-3", "pm-4"];
  const arbHost = (id: string) =>
    fc
      .record({
        cpus: fc.integer({ min: 0, max: 12 }),
        memoryMiB: fc.constantFrom(0, 1024, 4096, 8192, 16384),
        vmQuota: fc.integer({ min: 0, max: 4 }),
        cpuOvercommit: fc.constantFrom(1, 1.5, 2),
        status: fc.constantFrom("online", "online", "online", "unreachable"),
        vms: fc.array(fc.record({ vcpus: fc.integer({ min: 1, max: 4 }), memoryMiB: fc.constantFrom(256, 1024, 4096) }), {
          maxLength: 3,
        }),
      })
      .map((h) => ({
        ...h,
        id,
        statusReason: h.status === "online" ? null : "connection refused",
        vms: h.vms.map((v, i) => ({ ...v, id: `${id}-vm-${i}` })),
      }));
  const arbHosts = fc.tuple(...hostIds.slice(0, 3).map(arbHost));
  const arbVm = (id: string) =>
    fc
      .record({
        hostId: fc.constantFrom(...hostIds.slice(0, 3)),
        vcpus: fc.integer({ min: 1, max: 8 }),
        memoryMiB: fc.constantFrom(512, 768, 2048, 8192),
        state: fc.constantFrom("running", "running", "running", "provisioning"),
        locked: fc.constantFrom(false, false, false, true),
        applicationId: fc.constantFrom("heat", "heat", "crawler"),
      })
      .map((v): PreviewVm => ({
        id,
        name: id,
        hostId: v.hostId,
        applicationId: v.applicationId,
        state: v.state,
        lockedBy: v.locked ? "0b1c2d3e-0000-4000-8000-000000000000" : null,
        vcpus: v.vcpus,
        memoryMiB: v.memoryMiB,
        actorCount: 3,
      }));
  const arbApplication = fc
    .record({ status: fc.constantFrom("running", "running", "running", "degraded"), autoRecovery: fc.boolean() })
    .map((a) => ({ id: "heat", ...a, statusReason: a.status === "degraded" ? "VM heat-1 lost" : null }));
  /** The sources are on their hosts, as in the database. */
  const withSources = (hosts: PlacementHost[], sources: PreviewVm[]) =>
    hosts.map((h) => ({ ...h, vms: [...h.vms, ...sources.filter((s) => s.hostId === h.id)] }));
  const serverVerdict = (validate: () => void): string | null => {
    try {
      validate();
      return null;
    } catch (e) {
      if (!AppError.is(e)) throw e;
      return `${e.code}: ${e.message}`;
    }
  };
  const previewVerdict = (p: { problems: { code: string; message: string }[] }) =>
    p.problems[0] ? `${p.problems[0].code}: ${p.problems[0].message}` : null;

  it("split", () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(
        arbHosts,
        arbVm("src"),
        fc.array(fc.constantFrom(...hostIds), { minLength: 1, maxLength: 5 }),
        arbApplication,
        (raw, source, targets, app) => {
          const hosts = withSources(raw, [source]);
          const application = { ...app, id: source.applicationId };
          const server = serverVerdict(() =>
            checkPlanPlacement(
              hosts,
              planSplit(source, [], targets, (i) => ({ id: `t${i}`, name: `t${i}` }), application),
              { requireReachable: true },
            ),
          );
          expect(previewVerdict(previewSplit({ hosts, source, targetHostIds: targets, application }))).toBe(server);
          seen.add(server?.split(":")[0] ?? "accepted");
        },
      ),
      { numRuns: 2000 },
    );
    // The inputs reach acceptance and every kind of refusal, so the agreement means something.
    expect([...seen].sort()).toEqual([
      "APPLICATION_DEGRADED",
      "CAPACITY_EXCEEDED",
      "HOST_UNREACHABLE",
      "NOT_FOUND",
      "QUOTA_EXCEEDED",
      "SPLIT_TOO_SMALL",
      "VM_LOCKED",
      "VM_NOT_RUNNING",
      "accepted",
    ]);
  });

  it("merge", () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(
        arbHosts,
        fc.tuple(arbVm("a"), arbVm("b"), arbVm("c")),
        fc.integer({ min: 1, max: 3 }),
        fc.constantFrom(...hostIds),
        arbApplication,
        (raw, vms, n, target, app) => {
          const sources = vms.slice(0, n);
          const hosts = withSources(raw, sources);
          const application = { ...app, id: sources[0]!.applicationId };
          const server = serverVerdict(() =>
            checkPlanPlacement(hosts, planMerge(sources, [], target, { id: "t", name: "t" }, application), {
              requireReachable: true,
            }),
          );
          expect(previewVerdict(previewMerge({ hosts, sources, targetHostId: target, application }))).toBe(server);
          seen.add(server?.split(":")[0] ?? "accepted");
        },
      ),
      { numRuns: 2000 },
    );
    expect([...seen].sort()).toEqual([
      "APPLICATION_DEGRADED",
      "CAPACITY_EXCEEDED",
      "HOST_UNREACHABLE",
      "MERGE_INVALID",
      "NOT_FOUND",
      "QUOTA_EXCEEDED",
      "VM_LOCKED",
      "VM_NOT_RUNNING",
      "accepted",
    ]);
  });
});
