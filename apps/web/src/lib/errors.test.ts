import { describe, expect, it } from "vitest";
import { describeError } from "./errors";

describe("describeError", () => {
  it("keeps the server's sentence and adds what to do", () => {
    const e = { message: "host pm-2 has 0 of 4 VM slots free; the operation needs 1", data: { appCode: "QUOTA_EXCEEDED" } };
    expect(describeError(e)).toBe(
      "Host pm-2 has 0 of 4 VM slots free; the operation needs 1. Choose another host or free a VM slot first.",
    );
  });

  it("explains an unreachable server instead of a fetch error", () => {
    expect(describeError(new TypeError("Failed to fetch"))).toMatch(/Cannot reach the Malleo web server/);
  });

  it("passes validation messages through as sentences", () => {
    expect(describeError({ message: "vmIds: a merge needs at least 2 VMs", data: { appCode: "INVALID_INPUT" } })).toBe(
      "vmIds: a merge needs at least 2 VMs.",
    );
  });
});
