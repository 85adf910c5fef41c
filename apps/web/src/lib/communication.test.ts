import { describe, expect, it } from "vitest";
import {
  communicationMatrix,
  crossVmShare,
  formatRate,
  groupLabel,
  splitAdvice,
  vmChanges,
  type CommunicationInput,
} from "./communication";

const view: CommunicationInput = {
  vms: [
    { id: "b", name: "heat-2" },
    { id: "a", name: "heat-1" },
  ],
  latest: {
    totalPerSecond: 40,
    crossVmPerSecond: 10,
    vms: [
      { vmId: "b", actors: 2 },
      { vmId: "a", actors: 2 },
    ],
    vmPairs: [
      { from: "a", to: "a", perSecond: 20 },
      { from: "a", to: "b", perSecond: 10 },
      { from: "b", to: "b", perSecond: 10 },
    ],
    groups: [
      { first: 0, last: 1, actors: 2 },
      { first: 2, last: 2, actors: 1 },
    ],
    groupPairs: [{ from: "0", to: "1", perSecond: 40 }],
  },
  history: [
    { at: 1, vms: [{ vmId: "a", actors: 4 }] },
    { at: 2, vms: [{ vmId: "a", actors: 4 }] },
    {
      at: 3,
      vms: [
        { vmId: "a", actors: 2 },
        { vmId: "b", actors: 2 },
      ],
    },
  ],
};

describe("communicationMatrix", () => {
  it("puts VMs by name on both axes, with each cell's rate, share of all messages and intensity", () => {
    const m = communicationMatrix(view, "vm")!;
    expect(m.axis.map((a) => a.label)).toEqual(["heat-1", "heat-2"]);
    expect(m.rows.map((r) => r.map((c) => c.perSecond))).toEqual([
      [20, 10],
      [0, 10],
    ]);
    expect(m.rows[0]![1]).toMatchObject({ share: 0.25, intensity: 0.5, crossesVms: true });
    expect(m.rows[0]![0]!.crossesVms).toBe(false);
    expect(m.ranked.map((c) => [c.from.label, c.to.label])).toEqual([
      ["heat-1", "heat-1"],
      ["heat-1", "heat-2"],
      ["heat-2", "heat-2"],
    ]);
  });

  it("puts actor groups on the axes in ordinal order in group mode", () => {
    const m = communicationMatrix(view, "group")!;
    expect(m.axis.map((a) => a.label)).toEqual(["actors 0–1", "actor 2"]);
    expect(m.rows[0]![1]!.intensity).toBe(1);
    expect(m.ranked).toHaveLength(1);
  });

  it("is null before the first sample", () => {
    expect(communicationMatrix({ ...view, latest: null }, "vm")).toBeNull();
  });
});

describe("summaries", () => {
  it("gives the cross-VM share, null with no messages", () => {
    expect(crossVmShare(view.latest)).toBe(0.25);
    expect(crossVmShare({ totalPerSecond: 0, crossVmPerSecond: 0 })).toBeNull();
  });

  it("says what a split or merge would do", () => {
    expect(splitAdvice(0.25, 2)).toMatch(/^25% of messages cross VMs, 75% stay inside one/);
    expect(splitAdvice(0.6, 2)).toMatch(/A merge would keep that traffic inside one VM/);
    expect(splitAdvice(0, 1)).toMatch(/^All messages stay inside its one VM/);
    expect(splitAdvice(null, 2)).toMatch(/^No messages/);
  });

  it("lists the moments the VMs or their actors changed", () => {
    expect(vmChanges(view)).toEqual([
      { at: 1, vms: [{ name: "heat-1", actors: 4 }] },
      {
        at: 3,
        vms: [
          { name: "heat-1", actors: 2 },
          { name: "heat-2", actors: 2 },
        ],
      },
    ]);
  });

  it("formats rates and groups", () => {
    expect(formatRate(1234.4)).toBe("1,234 msg/s");
    expect(formatRate(0.44)).toBe("0.4 msg/s");
    expect(groupLabel({ first: 3, last: 3 })).toBe("actor 3");
  });
});
