import { describe, expect, it } from "vitest";
import { vmActivity } from "./vm-activity";

const OP = "0b1c2d3e-0000-4000-8000-000000000000";
const at = (over: Partial<Parameters<typeof vmActivity>[0]>) =>
  vmActivity({ state: "running", lockedBy: null, createdBy: null, actorCount: 64, ...over });

describe("vmActivity", () => {
  it("a VM no operation holds shows its state", () => {
    expect(at({})).toMatchObject({ key: "running", label: "Running", role: null });
    expect(at({ state: "lost" })).toMatchObject({ key: "lost", tone: "bad" });
  });
  it("a merge's sources are moving out, and say so once emptied, instead of Running with 0 actors", () => {
    expect(at({ lockedBy: OP, actorCount: 22 })).toMatchObject({ key: "moving_out", label: "Moving out", role: "source" });
    expect(at({ lockedBy: OP, actorCount: 0 })).toMatchObject({ key: "emptied", label: "Emptied", role: "source" });
  });
  it("the target is provisioning while empty and being created, then receiving (not Provisioning holding 64)", () => {
    expect(at({ state: "provisioning", lockedBy: OP, createdBy: OP, actorCount: 0 })).toMatchObject({
      key: "provisioning",
      role: "target",
    });
    expect(at({ state: "provisioning", lockedBy: OP, createdBy: OP, actorCount: 64 })).toMatchObject({
      key: "receiving",
      label: "Receiving",
      role: "target",
    });
    expect(at({ lockedBy: OP, createdBy: OP, actorCount: 0 })).toMatchObject({ key: "receiving", role: "target" });
  });
  it("a VM made by an earlier operation and held by a new one is that one's source", () => {
    expect(at({ lockedBy: OP, createdBy: "11111111-0000-4000-8000-000000000000" })).toMatchObject({ role: "source" });
  });
});
