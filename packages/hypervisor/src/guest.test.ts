import { describe, expect, it } from "vitest";
import { qemuDomainXml } from "./domain-xml";
import { allocateGuestAddress, guestKernelArgs, guestMacAddress, parseBridgeCidr } from "./guest";

const net = parseBridgeCidr("malleo0", "10.77.0.1/24");

describe("guest kernel command line", () => {
  it("carries the VM id, secret, Mediator and address", () => {
    expect(guestKernelArgs({ vmId: "vm-1", secret: "s3cr3t", mediator: "10.77.0.1:4100", ipCidr: "10.77.0.10/24" })).toBe(
      "malleo.ip=10.77.0.10/24 malleo.vm=vm-1 malleo.secret=s3cr3t malleo.mediator=10.77.0.1:4100",
    );
  });

  it("refuses values that would split or quote the command line", () => {
    expect(() => guestKernelArgs({ vmId: "vm 1", secret: "s", mediator: "h:1", ipCidr: "10.77.0.10/24" })).toThrow(/vmId/);
    expect(() => guestKernelArgs({ vmId: "vm", secret: 's"', mediator: "h:1", ipCidr: "10.77.0.10/24" })).toThrow(/secret/);
  });
});

describe("guest network", () => {
  it("allocates the lowest free address and never the gateway", () => {
    expect(allocateGuestAddress(net, [])).toBe("10.77.0.10");
    expect(allocateGuestAddress(net, ["10.77.0.10", "10.77.0.11"])).toBe("10.77.0.12");
  });

  it("says when the pool is exhausted", () => {
    const all = Array.from({ length: 241 }, (_, i) => `10.77.0.${i + 10}`);
    expect(allocateGuestAddress(net, all)).toBeUndefined();
  });

  it("accepts only an IPv4 /24 bridge address", () => {
    expect(net.gateway).toBe("10.77.0.1");
    expect(() => parseBridgeCidr("b", "10.77.0.1/16")).toThrow(/\/24/);
  });

  it("derives a stable locally administered MAC from the VM id", () => {
    expect(guestMacAddress("a")).toBe(guestMacAddress("a"));
    expect(guestMacAddress("a")).not.toBe(guestMacAddress("b"));
    expect(guestMacAddress("a")).toMatch(/^52:54:00(:[0-9a-f]{2}){3}$/);
  });
});

describe("qemu domain XML console log", () => {
  it("writes the serial console to the given file", () => {
    const xml = qemuDomainXml(
      { name: "g", uuid: "0b5e3c1a-1111-4a4a-8a8a-000000000001", vcpus: 1, memoryMiB: 256, guest: { consoleLog: "/tmp/g.log" } },
      { virtType: "qemu", kernel: "/k", initrd: "/i" },
    );
    expect(xml).toContain("<log file='/tmp/g.log' append='off'/>");
  });
});
