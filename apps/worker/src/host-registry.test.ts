import { describe, expect, it } from "vitest";
import { parseConfiguredHosts } from "./host-registry";

describe("MALLEO_HOSTS", () => {
  it("reads hosts by libvirt URI with their VM quota", () => {
    expect(parseConfiguredHosts('[{"id":"pm-a","uri":"qemu:///system","vmQuota":4}]')).toEqual([
      { id: "pm-a", uri: "qemu:///system", vmQuota: 4 },
    ]);
    expect(parseConfiguredHosts(undefined)).toEqual([]);
  });

  it("refuses entries it cannot use, naming them", () => {
    expect(() => parseConfiguredHosts("pm-a=qemu:///system")).toThrow(/not JSON/);
    expect(() => parseConfiguredHosts('[{"id":"pm-a","uri":"qemu:///system","vmQuota":-1}]')).toThrow(/vmQuota/);
    expect(() => parseConfiguredHosts('[{"id":"pm-a","uri":"http://x","vmQuota":1}]')).toThrow(/pm-a/);
  });
});
