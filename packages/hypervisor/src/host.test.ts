import { describe, expect, it } from "vitest";
import { HypervisorError } from "./errors";
import { hostKindOf, hostSpecProblems, simulatedNodeXml, testUriFile, testUriForFile } from "./host";

describe("hostKindOf", () => {
  it.each([
    ["test:///default", "test"],
    ["test:///tmp/pm-1.xml", "test"],
    ["qemu:///system", "qemu"],
    ["qemu+ssh://root@pm-2/system", "qemu"],
    ["QEMU+tcp://pm-3/system", "qemu"],
    ["xen:///system", undefined],
    ["/tmp/pm.xml", undefined],
  ])("%s -> %s", (uri, kind) => {
    expect(hostKindOf(uri)).toBe(kind);
  });
});

describe("hostSpecProblems", () => {
  it("accepts test and qemu URIs", () => {
    expect(hostSpecProblems({ id: "pm-1", uri: "test:///tmp/pm-1.xml" })).toEqual([]);
    expect(hostSpecProblems({ id: "pm-1", uri: "qemu:///system" })).toEqual([]);
  });
  it("rejects empty ids, unknown schemes and relative test URIs", () => {
    expect(hostSpecProblems({ id: "", uri: "qemu:///system" })).toHaveLength(1);
    expect(hostSpecProblems({ id: "pm", uri: "lxc:///" })).toHaveLength(1);
    expect(hostSpecProblems({ id: "pm", uri: "test://pm.xml" })).toHaveLength(1);
  });
});

describe("simulatedNodeXml", () => {
  it("writes active CPUs, a consistent topology and memory in KiB, with no domains", () => {
    const xml = simulatedNodeXml({ id: "pm-1", cpus: 12, memoryMiB: 16384 });
    expect(xml).toContain("<active>12</active>");
    expect(xml).toContain("<cores>12</cores>");
    expect(xml).toContain("<memory>16777216</memory>");
    expect(xml).toContain("<model>malleo-sim</model>");
    expect(xml).not.toContain("<domain");
  });
  it("rejects bad capacities, ids and over-long models with INVALID_HOST_SPEC", () => {
    for (const h of [
      { id: "pm-1", cpus: 0, memoryMiB: 1 },
      { id: "pm-1", cpus: 1, memoryMiB: 0.5 },
      { id: "../x", cpus: 1, memoryMiB: 1 },
      { id: "pm-1", cpus: 1, memoryMiB: 1, model: "x".repeat(32) },
    ]) {
      try {
        simulatedNodeXml(h);
        expect.unreachable();
      } catch (e) {
        expect(e).toBeInstanceOf(HypervisorError);
        expect((e as HypervisorError).code).toBe("INVALID_HOST_SPEC");
      }
    }
  });
});

describe("testUriForFile", () => {
  it("percent-encodes path segments", () => {
    expect(testUriForFile("/tmp/a b/pm-1.xml")).toBe("test:///tmp/a%20b/pm-1.xml");
    expect(testUriForFile("/tmp/pm-1.xml")).toBe("test:///tmp/pm-1.xml");
  });
  it("is inverted by testUriFile", () => {
    expect(testUriFile(testUriForFile("/tmp/a b/pm#1.xml"))).toBe("/tmp/a b/pm#1.xml");
    expect(testUriFile("test:///default")).toBeUndefined();
  });
});
