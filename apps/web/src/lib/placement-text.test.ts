import { previewSplit, type PlacementHost, type PreviewVm } from "@malleo/core";
import { describe, expect, it } from "vitest";
import { divisionText, hostChoiceLabel, unchoosableNote } from "./placement-text";

const source: PreviewVm = {
  id: "a",
  name: "heat-1",
  hostId: "pm-1",
  applicationId: "heat",
  state: "running",
  lockedBy: null,
  vcpus: 4,
  memoryMiB: 8192,
  actorCount: 8,
};
const host = (id: string, extra: Partial<PlacementHost> = {}): PlacementHost => ({
  id,
  cpus: 16,
  memoryMiB: 32768,
  vmQuota: 4,
  status: "online",
  vms: [],
  ...extra,
});

describe("divisionText", () => {
  it("says evenly only when every new VM gets the same", () => {
    const preview = previewSplit({ hosts: [host("pm-1", { vms: [source] })], source, targetHostIds: ["pm-1", "pm-1"] });
    expect(divisionText(source, preview)).toBe("Its 4 vCPU · 8 GiB are divided evenly: 2 vCPU · 4 GiB each.");
  });

  it("states each target's share of a 3-way split", () => {
    const preview = previewSplit({ hosts: [host("pm-1", { vms: [source] })], source, targetHostIds: ["pm-1", "pm-1", "pm-1"] });
    expect(divisionText(source, preview)).toBe(
      "Its 4 vCPU · 8 GiB are divided as evenly as whole vCPUs and MiB allow: 2/1/1 vCPU, 2731/2731/2730 MiB.",
    );
  });
});

describe("hostChoiceLabel", () => {
  it("shows what a host has free, and an unreachable host's reason instead of its capacity", () => {
    const preview = previewSplit({
      hosts: [
        host("pm-1", { vms: [source] }),
        host("pm-9", { status: "unreachable", statusReason: "connection refused", cpus: 0, memoryMiB: 0 }),
      ],
      source,
      targetHostIds: ["pm-1", "pm-1"],
    });
    expect(preview.choices[0]!.map(hostChoiceLabel)).toEqual([
      "pm-1 · free 3 slots, 14 vCPU, 28 GiB",
      "pm-9 — unreachable, cannot be chosen",
    ]);
    expect(unchoosableNote(preview.choices[0]!)).toBe("Not offered: pm-9 (unreachable: connection refused).");
    expect(unchoosableNote(preview.choices[0]!.filter((c) => c.choosable))).toBeNull();
  });
});
