import { describe, expect, it } from "vitest";
import { mergeInput, operationTransferMode, splitInput } from "./inputs";

const id = "6f1c2a7e-9a59-4c1e-8b0a-2b1d1f6f7a10";
const id2 = "7a2c2a7e-9a59-4c1e-8b0a-2b1d1f6f7a11";
const messages = (r: { success: boolean; error?: { issues: { message: string }[] } }) =>
  r.error?.issues.map((i) => i.message) ?? [];

describe("split and merge inputs", () => {
  it.each([
    [{ vmId: id, count: 1, targetHostIds: ["pm-1"] }, "a split makes at least 2 VMs"],
    [{ vmId: "nope", count: 2, targetHostIds: ["pm-1", "pm-2"] }, "a VM id is a UUID, as listed by the topology"],
    [
      { vmId: id, count: 2, targetHostIds: ["pm-1"] },
      "give exactly one target host per new VM (targetHostIds.length must equal count)",
    ],
    [{ vmId: id, count: "2", targetHostIds: ["pm-1", "pm-2"] }, "count must be a whole number from 2 up to the VM's vCPUs"],
    [{ vmId: id, count: 2, targetHostIds: ["pm-1", "x".repeat(10_000)] }, "a host id has at most 64 characters"],
  ])("split %#: refuses with a message saying what is accepted", (input, message) => {
    const r = splitInput.safeParse(input);
    expect(r.success).toBe(false);
    expect(messages(r)).toContain(message);
  });
  it.each([
    [{ vmIds: [id], targetHostId: "pm-1" }, "a merge needs at least 2 VMs"],
    [{ vmIds: [id, id], targetHostId: "pm-1" }, "each VM may be named only once"],
  ])("merge %#: refuses with a message saying what is accepted", (input, message) => {
    const r = mergeInput.safeParse(input);
    expect(r.success).toBe(false);
    expect(messages(r)).toContain(message);
  });
  it("accepts valid requests", () => {
    expect(splitInput.safeParse({ vmId: id, count: 2, targetHostIds: ["pm-2", "pm-3"] }).success).toBe(true);
    expect(mergeInput.safeParse({ vmIds: [id, id2], targetHostId: "pm-1" }).success).toBe(true);
  });
});

describe("operationTransferMode", () => {
  it("reads the column first, then the input, and calls an operation from before transfer modes a barrier", () => {
    expect(operationTransferMode({ transferMode: "barrier", input: { transfer: "live" } })).toBe("barrier");
    expect(operationTransferMode({ transferMode: null, input: { transfer: "barrier" } })).toBe("barrier");
    expect(operationTransferMode({ transferMode: null, input: { transfer: "live" } })).toBe("live");
    expect(operationTransferMode({ transferMode: null, input: { vmId: "x" } })).toBe("barrier");
    expect(operationTransferMode({ transferMode: "sideways", input: null })).toBe("barrier");
  });
});
