import { describe, expect, it } from "vitest";
import { bundleCheckTimeoutMs } from "./run";

describe("a bundle check's time limit", () => {
  it("is 15 s unless MALLEO_BUNDLE_CHECK_TIMEOUT_MS says otherwise", () => {
    expect(bundleCheckTimeoutMs({})).toBe(15_000);
    expect(bundleCheckTimeoutMs({ MALLEO_BUNDLE_CHECK_TIMEOUT_MS: "" })).toBe(15_000);
    expect(bundleCheckTimeoutMs({ MALLEO_BUNDLE_CHECK_TIMEOUT_MS: "45000" })).toBe(45_000);
  });

  it("refuses a value that is not a positive whole number of ms, naming it", () => {
    for (const bad of ["0", "-5", "1.5", "abc", "1e400", "15 s"])
      expect(() => bundleCheckTimeoutMs({ MALLEO_BUNDLE_CHECK_TIMEOUT_MS: bad })).toThrow(
        `MALLEO_BUNDLE_CHECK_TIMEOUT_MS must be a whole number of milliseconds above 0, not ${JSON.stringify(bad)}`,
      );
  });
});
