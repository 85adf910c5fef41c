import { describe, expect, it } from "vitest";
import { AppError } from "./errors";
import {
  checkHostRemovable,
  checkHostSettings,
  checkTargetHostsReachable,
  hostRegisterInput,
  hostUpdateInput,
  hostUriProblem,
} from "./hosts";

describe("hostUriProblem", () => {
  it.each([
    "test:///default",
    "test:///var/lib/malleo/hosts/pm-9.xml",
    "qemu:///system",
    "qemu:///session",
    "qemu+ssh://pm-2/system",
    "qemu+ssh://root@pm-2.lab.example:2222/system",
    "qemu+ssh://root@10.0.0.7/system?keyfile=/root/.ssh/malleo",
    "qemu+tcp://10.0.0.7:16509/system",
    "qemu+tls://pm-4/system",
  ])("accepts %s", (uri) => {
    expect(hostUriProblem(uri)).toBeNull();
  });

  it.each([
    "",
    "test://relative.xml",
    "test:///etc/passwd",
    "qemu:///",
    "qemu:///embed",
    "qemu+ssh://root@pm-2",
    "qemu+ssh://root@pm 2/system",
    "xen:///system",
    "lxc:///",
    "http://pm-2/system",
  ])("refuses %j and says what is accepted", (uri) => {
    expect(hostUriProblem(uri)).toMatch(
      /is not a libvirt URI Malleo drives; use test:\/\/\/default, .*qemu\+ssh:\/\/\[user@\]host/,
    );
  });
});

describe("hostRegisterInput / hostUpdateInput", () => {
  it("defaults both overcommit ratios to 1", () => {
    expect(hostRegisterInput.parse({ name: "pm-9", uri: "qemu:///system", vmQuota: 2 })).toEqual({
      name: "pm-9",
      uri: "qemu:///system",
      vmQuota: 2,
      cpuOvercommit: 1,
      memoryOvercommit: 1,
    });
  });

  it("refuses a zero quota, a ratio below 1 or above its maximum, and more than two decimals, naming each field", () => {
    const r = hostRegisterInput.safeParse({
      name: "pm 9",
      uri: "qemu:///system",
      vmQuota: 0,
      cpuOvercommit: 0.5,
      memoryOvercommit: 1.333,
    });
    expect(r.success).toBe(false);
    expect(r.error!.issues.map((i) => `${i.path.join(".")}: ${i.message}`)).toEqual([
      "name: a host name is 1 to 63 letters, digits, dots, dashes or underscores, starting with a letter or digit",
      "vmQuota: the VM quota is at least 1",
      "cpuOvercommit: CPU overcommit is at least 1 (1 = no overcommit)",
      "memoryOvercommit: memory overcommit has at most two decimals (e.g. 1.5)",
    ]);
    expect(
      hostRegisterInput.safeParse({ name: "a", uri: "qemu:///system", vmQuota: 1, cpuOvercommit: 17 }).error?.issues[0]?.message,
    ).toBe("CPU overcommit is at most 16");
  });

  it("an update must change something", () => {
    expect(hostUpdateInput.safeParse({ id: "pm-1" }).error?.issues[0]?.message).toBe(
      "change at least one of vmQuota, cpuOvercommit, memoryOvercommit",
    );
    expect(hostUpdateInput.parse({ id: "pm-1", cpuOvercommit: 2.5 })).toEqual({ id: "pm-1", cpuOvercommit: 2.5 });
  });
});

describe("checkHostSettings", () => {
  const host = {
    id: "pm-2",
    cpus: 4,
    memoryMiB: 8192,
    vmQuota: 4,
    cpuOvercommit: 2,
    memoryOvercommit: 1,
    vms: [
      { vcpus: 4, memoryMiB: 4096 },
      { vcpus: 2, memoryMiB: 2048 },
    ],
  };
  const refusal = (next: Parameters<typeof checkHostSettings>[1]) => {
    try {
      checkHostSettings(host, next);
    } catch (e) {
      return AppError.is(e) ? `${e.code}: ${e.message}` : String(e);
    }
    return null;
  };

  it("accepts raising and lowering limits the live VMs still fit in", () => {
    expect(refusal({ vmQuota: 2, cpuOvercommit: 1.5, memoryOvercommit: 1 })).toBeNull();
    expect(refusal({ vmQuota: 10, cpuOvercommit: 16, memoryOvercommit: 4 })).toBeNull();
  });

  it("refuses a quota below the live VMs, saying how many there are", () => {
    expect(refusal({ vmQuota: 1 })).toBe("HOST_IN_USE: host pm-2 carries 2 live VMs; its VM quota cannot go below 2 (asked 1)");
  });

  it("refuses a CPU ratio that would not hold the vCPUs in use, saying how many are used and what ratio is needed", () => {
    expect(refusal({ cpuOvercommit: 1.25 })).toBe(
      "HOST_IN_USE: host pm-2's VMs use 6 vCPUs; CPU overcommit 1.25 allows only 5 on its 4 CPUs (at least 1.5 needed)",
    );
  });

  it("refuses a memory ratio below what the VMs use", () => {
    expect(refusal({ memoryOvercommit: 1 })).toBeNull();
    expect(checkHostSettings.bind(null, { ...host, memoryMiB: 4096, memoryOvercommit: 2 }, { memoryOvercommit: 1 })).toThrow(
      "host pm-2's VMs use 6144 MiB; memory overcommit 1 allows only 4096 MiB of its 4096 MiB (at least 1.5 needed)",
    );
  });

  it("does not judge CPU or memory of a host whose capacity is not known yet", () => {
    expect(checkHostSettings.bind(null, { ...host, cpus: 0, memoryMiB: 0 }, { cpuOvercommit: 1 })).not.toThrow();
  });
});

describe("checkHostRemovable", () => {
  it("allows removing an empty host and refuses one with live VMs, naming them", () => {
    expect(() => checkHostRemovable("pm-2", [])).not.toThrow();
    expect(() => checkHostRemovable("pm-2", [{ name: "heat-b" }, { name: "heat-a" }])).toThrow(
      "host pm-2 still carries 2 live VMs (heat-a, heat-b); merge or move them elsewhere first",
    );
  });
});

describe("checkTargetHostsReachable", () => {
  it("accepts online hosts and names an unreachable one with its reason", () => {
    expect(() => checkTargetHostsReachable([{ id: "pm-1", status: "online", statusReason: null }])).not.toThrow();
    let caught: unknown;
    try {
      checkTargetHostsReachable([
        { id: "pm-1", status: "online", statusReason: null },
        { id: "pm-9", status: "unreachable", statusReason: "cannot open /x.xml" },
      ]);
    } catch (e) {
      caught = e;
    }
    expect(caught).toMatchObject({ code: "HOST_UNREACHABLE", details: { hostId: "pm-9" } });
    expect((caught as Error).message).toBe(
      "host pm-9 is unreachable (cannot open /x.xml); no VM can be created on it until it is back — choose another target host",
    );
  });
});
