import { describe, expect, it } from "vitest";
import { actorGroups, communicationRates, type ActorMessageCounts } from "./communication";

const uan = (i: number) => `uan://app/a${i}`;
const ordinals = new Map([0, 1, 2, 3].map((i) => [uan(i), i]));
const counts = (vmOf: (i: number) => string, sent: Record<number, Record<number, number>>): ActorMessageCounts[] =>
  [0, 1, 2, 3].map((i) => ({
    uan: uan(i),
    vmId: vmOf(i),
    sentTo: Object.fromEntries(Object.entries(sent[i] ?? {}).map(([to, n]) => [uan(Number(to)), n])),
  }));
const twoVms = (i: number) => (i < 2 ? "vm-a" : "vm-b");

describe("communicationRates", () => {
  it("has no sample for the first reading, only what the next is measured against", () => {
    const first = communicationRates(undefined, { atMs: 1000, actors: counts(twoVms, { 0: { 1: 5 } }) }, ordinals);
    expect(first.sample).toBeNull();
    expect(first.reading.sentTo.get(uan(0))).toEqual({ [uan(1)]: 5 });
  });

  it("turns counter growth into rates per VM pair and per group, and the share that crosses VMs", () => {
    const before = communicationRates(
      undefined,
      { atMs: 0, actors: counts(twoVms, { 0: { 1: 10, 2: 10 }, 3: { 2: 4 } }) },
      ordinals,
    );
    const { sample } = communicationRates(
      before.reading,
      { atMs: 2000, actors: counts(twoVms, { 0: { 1: 30, 2: 14 }, 3: { 2: 8 } }) },
      ordinals,
      2,
    );
    expect(sample).not.toBeNull();
    // a0→a1 +20 (inside vm-a), a0→a2 +4 (vm-a → vm-b), a3→a2 +4 (inside vm-b); over 2 s.
    expect(sample!.totalPerSecond).toBe(14);
    expect(sample!.crossVmPerSecond).toBe(2);
    expect(sample!.vmPairs).toEqual([
      { from: "vm-a", to: "vm-a", perSecond: 10 },
      { from: "vm-a", to: "vm-b", perSecond: 2 },
      { from: "vm-b", to: "vm-b", perSecond: 2 },
    ]);
    expect(sample!.groups).toEqual([
      { first: 0, last: 1, actors: 2 },
      { first: 2, last: 3, actors: 2 },
    ]);
    expect(sample!.groupPairs).toEqual([
      { from: "0", to: "0", perSecond: 10 },
      { from: "0", to: "1", perSecond: 2 },
      { from: "1", to: "1", perSecond: 2 },
    ]);
    expect(sample!.vms).toEqual([
      { vmId: "vm-a", actors: 2 },
      { vmId: "vm-b", actors: 2 },
    ]);
    expect(sample!.resetActors).toBe(0);
  });

  it("leaves out an actor whose counters went back (restored) instead of giving a negative rate", () => {
    const before = communicationRates(undefined, { atMs: 0, actors: counts(twoVms, { 0: { 1: 100 }, 1: { 0: 50 } }) }, ordinals);
    const { sample } = communicationRates(
      before.reading,
      { atMs: 1000, actors: counts(twoVms, { 0: { 1: 40 }, 1: { 0: 60 } }) },
      ordinals,
    );
    expect(sample!.resetActors).toBe(1); // a0 went back; a1 grew
    expect(sample!.totalPerSecond).toBe(10);
    expect(sample!.vmPairs.every((p) => p.perSecond > 0)).toBe(true);
  });

  it("counts an actor that moved at its new VM, and ignores receivers outside the application", () => {
    const before = communicationRates(undefined, { atMs: 0, actors: counts(twoVms, { 0: { 1: 1, 2: 0 } }) }, ordinals);
    const moved = counts(() => "vm-b", { 0: { 1: 3, 2: 0 } });
    moved[0]!.sentTo["uan://other/x"] = 99;
    const { sample } = communicationRates(before.reading, { atMs: 1000, actors: moved }, ordinals);
    expect(sample!.vmPairs).toEqual([{ from: "vm-b", to: "vm-b", perSecond: 2 }]);
    expect(sample!.crossVmPerSecond).toBe(0);
  });

  it("has no sample when no time passed", () => {
    const before = communicationRates(undefined, { atMs: 5, actors: [] }, ordinals);
    expect(communicationRates(before.reading, { atMs: 5, actors: [] }, ordinals).sample).toBeNull();
  });
});

describe("actorGroups", () => {
  it("splits 1,000 ordinals into 16 contiguous ranges of about equal size", () => {
    const { groups, groupOf } = actorGroups(
      Array.from({ length: 1000 }, (_, i) => 999 - i),
      16,
    );
    expect(groups).toHaveLength(16);
    expect(groups[0]).toEqual({ first: 0, last: 62, actors: 63 });
    expect(groups.at(-1)!.last).toBe(999);
    expect(groups.reduce((n, g) => n + g.actors, 0)).toBe(1000);
    expect(groupOf.get(63)).toBe(1);
  });

  it("gives each actor its own group when there are few", () => {
    expect(actorGroups([2, 0, 1], 16).groups.map((g) => g.actors)).toEqual([1, 1, 1]);
  });
});
