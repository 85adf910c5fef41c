import { describe, expect, it } from "vitest";
import { vmActionItems, type ActionVm } from "./vm-actions";

const vm: ActionVm = { id: "a", name: "heat-1", state: "running", lockedBy: null, vcpus: 4, applicationId: "heat" };
const sibling: ActionVm = { ...vm, id: "b", name: "heat-2" };
const app = { id: "heat", status: "running" };
const reasons = (items: ReturnType<typeof vmActionItems>) => Object.fromEntries(items.map((i) => [i.key, i.disabledReason]));

describe("vmActionItems", () => {
  it("offers all three to an operator when nothing stands in the way", () => {
    expect(reasons(vmActionItems({ vm, application: app, siblings: [vm, sibling], canOperate: true }))).toEqual({
      split: null,
      merge: null,
      open: null,
    });
  });

  it("says why each item is disabled", () => {
    expect(reasons(vmActionItems({ vm, application: app, siblings: [sibling], canOperate: false }))).toEqual({
      split: "viewer role cannot split",
      merge: "viewer role cannot merge",
      open: null,
    });
    const locked = { ...vm, lockedBy: "0123456789abcdef" };
    expect(reasons(vmActionItems({ vm: locked, application: app, siblings: [sibling], canOperate: true })).split).toBe(
      "locked by operation 01234567",
    );
    const stopped = vmActionItems({ vm, application: { id: "heat", status: "stopped" }, siblings: [sibling], canOperate: true });
    expect(reasons(stopped).split).toBe("application heat is stopped; start it first");
    expect(reasons(stopped).merge).toBe("application heat is stopped; start it first");
    const small = { ...vm, vcpus: 1 };
    expect(reasons(vmActionItems({ vm: small, application: app, siblings: [sibling], canOperate: true }))).toMatchObject({
      split: "only one vCPU: nothing to divide",
      merge: null,
    });
    expect(
      reasons(vmActionItems({ vm, application: app, siblings: [{ ...sibling, lockedBy: "x" }], canOperate: true })).merge,
    ).toBe("no other running, unlocked VM of heat to merge with");
    expect(
      reasons(vmActionItems({ vm: { ...vm, state: "provisioning" }, application: app, siblings: [], canOperate: true })).split,
    ).toBe("VM is provisioning, not running");
    expect(
      reasons(vmActionItems({ vm, application: { id: "heat", status: "degraded" }, siblings: [sibling], canOperate: true }))
        .split,
    ).toBe("application heat is degraded; restore it first");
  });

  it("leaves out Open VM page on the VM's own page", () => {
    expect(vmActionItems({ vm, application: app, siblings: [], canOperate: true, onPage: true }).map((i) => i.key)).toEqual([
      "split",
      "merge",
    ]);
  });
});
