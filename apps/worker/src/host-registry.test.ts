import { describe, expect, it } from "vitest";
import { parseConfiguredHosts } from "./host-registry";

describe("MALLEO_HOSTS", () => {
  it("reads hosts by libvirt URI with their VM quota", () => {
    expect(parseConfiguredHosts('[{"id":"pm-a","uri":"qemu:///system","vmQuota":4}]')).toEqual([
      { id: "pm-a", uri: "qemu:///system", vmQuota: 4 },
    ]);
    expect(parseConfiguredHosts(undefined)).toEqual([]);
  });

  it("reads optional overcommit ratios", () => {
    expect(
      parseConfiguredHosts(
        '[{"id":"pm-b","uri":"qemu+ssh://root@pm-b/system","vmQuota":2,"cpuOvercommit":2,"memoryOvercommit":1.5}]',
      ),
    ).toEqual([{ id: "pm-b", uri: "qemu+ssh://root@pm-b/system", vmQuota: 2, cpuOvercommit: 2, memoryOvercommit: 1.5 }]);
    expect(() => parseConfiguredHosts('[{"id":"pm-b","uri":"qemu:///system","vmQuota":2,"cpuOvercommit":0.5}]')).toThrow(
      "MALLEO_HOSTS: 0.cpuOvercommit: CPU overcommit is at least 1 (1 = no overcommit)",
    );
  });

  it("refuses entries it cannot use, naming them", () => {
    expect(() => parseConfiguredHosts("pm-a=qemu:///system")).toThrow(/not JSON/);
    expect(() => parseConfiguredHosts('[{"id":"pm-a","uri":"qemu:///system","vmQuota":-1}]')).toThrow(/vmQuota/);
    expect(() => parseConfiguredHosts('[{"id":"pm-a","uri":"http://x","vmQuota":1}]')).toThrow(
      /MALLEO_HOSTS entry pm-a: uri "http:\/\/x" is not a libvirt URI Malleo drives; use test:\/\/\/default/,
    );
  });
});
