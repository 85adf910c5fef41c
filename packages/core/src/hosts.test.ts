import { describe, expect, it } from "vitest";
import { AppError } from "./errors";
import {
  checkHostRemovable,
  checkHostSettings,
  checkTargetHostsReachable,
  hostRegisterInput,
  hostUpdateInput,
  hostFailure,
  hostProbeFailed,
  hostReasonForViewers,
  hostUriPolicyFromEnv,
  hostUriPolicyProblem,
  hostUriProblem,
} from "./hosts";

describe("hostUriProblem: the allow-list of libvirt URIs", () => {
  it.each([
    "test:///default",
    "test:///var/lib/malleo/hosts/pm-9.xml",
    "test:///tmp/a%20b/pm-1.xml",
    "qemu:///system",
    "qemu:///session",
    "qemu+ssh://pm-2/system",
    "qemu+ssh://root@pm-2.lab.example:2222/system",
    "qemu+ssh://root@10.0.0.7/system?keyfile=/root/.ssh/malleo",
    "qemu+ssh://root@10.0.0.7/system?keyfile=/root/.ssh/malleo&known_hosts=/etc/malleo/known_hosts",
    "qemu+ssh://root@10.0.0.7/system?no_tty=1",
    "qemu+ssh://[fd00::7]:22/system",
    "qemu+tls://pm-4/system",
    "qemu+tls://pm-4:16514/system?pkipath=/etc/malleo/pki",
  ])("accepts %s", (uri) => {
    expect(hostUriProblem(uri)).toBeNull();
  });

  it.each([
    ["", /is not a libvirt URI Malleo drives/],
    ["test://relative.xml", /is not a libvirt URI Malleo drives/],
    ["test:///etc/passwd", /is not a libvirt URI Malleo drives/],
    ["test:///data/../etc/shadow.xml", /is not a libvirt URI Malleo drives/],
    ["test:///data/%2e%2e/etc/x.xml", /is not a libvirt URI Malleo drives/],
    ["test:///data/pm.xml?x=1", /is not a libvirt URI Malleo drives/],
    ["qemu:///", /is not a libvirt URI Malleo drives/],
    ["qemu:///embed", /is not a libvirt URI Malleo drives/],
    ["qemu:///system?socket=/tmp/evil", /is not a libvirt URI Malleo drives/],
    ["qemu+ssh://root@pm-2", /is not a libvirt URI Malleo drives/],
    ["qemu+ssh://root@pm 2/system", /is not a libvirt URI Malleo drives/],
    ["qemu+ext://pm-2/system?command=/bin/sh", /is not a libvirt URI Malleo drives/],
    ["qemu+unix:///system", /is not a libvirt URI Malleo drives/],
    ["qemu+libssh2://pm-2/system", /is not a libvirt URI Malleo drives/],
    ["xen:///system", /is not a libvirt URI Malleo drives/],
    ["lxc:///", /is not a libvirt URI Malleo drives/],
    ["http://pm-2/system", /is not a libvirt URI Malleo drives/],
    ["qemu+tcp://10.0.0.7:16509/system", /qemu\+tcp carries libvirt's control connection unencrypted/],
    [
      "qemu+ssh://pm-2/system?command=/bin/sh",
      /the parameter "command" is not allowed for qemu\+ssh \(allowed: keyfile, known_hosts, no_tty\)/,
    ],
    ["qemu+ssh://pm-2/system?netcat=/tmp/nc", /"netcat" is not allowed/],
    ["qemu+ssh://pm-2/system?proxy=native", /"proxy" is not allowed/],
    ["qemu+ssh://pm-2/system?no_verify=1", /"no_verify" is not allowed/],
    ["qemu+ssh://pm-2/system?known_hosts_verify=ignore", /"known_hosts_verify" is not allowed/],
    ["qemu+ssh://pm-2/system?socket=/run/x", /"socket" is not allowed/],
    ["qemu+ssh://pm-2/system?keyfile=/a&command=/bin/sh", /"command" is not allowed/],
    ["qemu+ssh://pm-2/system?keyfile=/a&keyfile=/b", /keyfile is given twice/],
    ["qemu+ssh://pm-2/system?keyfile=relative/key", /keyfile="relative\/key" is not an absolute path/],
    ["qemu+ssh://pm-2/system?keyfile=/root/../etc/shadow", /is not an absolute path/],
    ["qemu+ssh://pm-2/system?keyfile=/a%20b", /is not an absolute path/],
    ["qemu+ssh://pm-2/system?no_tty=0", /no_tty="0" is not 1/],
    ["qemu+ssh://pm-2/system?__proto__=1", /"__proto__" is not allowed/],
    ["qemu+ssh://pm-2/system?constructor=1", /"constructor" is not allowed/],
    ["qemu+tls://pm-4/system?no_verify=1", /"no_verify" is not allowed for qemu\+tls \(allowed: pkipath\)/],
    ["qemu+tls://pm-4/system?keyfile=/k", /"keyfile" is not allowed for qemu\+tls/],
    ["qemu+tls://pm-4/system?pkipath=", /is not an absolute path/],
  ])("refuses %j, says why and what is accepted", (uri, why) => {
    const problem = hostUriProblem(uri);
    expect(problem).toMatch(why);
    expect(problem).toMatch(/; use test:\/\/\/default, .*qemu\+ssh:\/\/\[user@\]host.*parameters: keyfile, known_hosts, no_tty/);
  });
});

describe("hostUriPolicyProblem: simulated hosts and the data directory", () => {
  const dev = { simulatedHosts: true, dataDir: "/srv/malleo/data" };
  it("confines test:///<path>.xml to the data directory", () => {
    expect(hostUriPolicyProblem("test:///srv/malleo/data/hosts/pm-1.xml", dev)).toBeNull();
    expect(hostUriPolicyProblem("test:///default", dev)).toBeNull();
    expect(hostUriPolicyProblem("test:///etc/libvirt/secret.xml", dev)).toMatch(
      /names a file outside the data directory; a simulated host's file must be under \/srv\/malleo\/data\//,
    );
    expect(hostUriPolicyProblem("test:///srv/malleo/data-other/pm.xml", dev)).toMatch(/outside the data directory/);
    expect(hostUriPolicyProblem("qemu:///system", dev)).toBeNull();
  });

  it("refuses every test:// URI in a deployment unless simulated hosts are enabled", () => {
    const deployment = hostUriPolicyFromEnv({ MALLEO_MODE: "deployment", MALLEO_DATA_DIR: "/data" }, (p) => p);
    expect(deployment).toEqual({ simulatedHosts: false, dataDir: "/data" });
    expect(hostUriPolicyProblem("test:///default", deployment)).toMatch(/refused in a deployment; set MALLEO_SIMULATED_HOSTS=1/);
    expect(hostUriPolicyProblem("qemu+ssh://pm-2/system", deployment)).toBeNull();
    const allowed = hostUriPolicyFromEnv({ MALLEO_MODE: "deployment", MALLEO_SIMULATED_HOSTS: "1" }, (p) => `/abs/${p}`);
    expect(allowed).toEqual({ simulatedHosts: true, dataDir: "/abs/.data/dev" });
  });

  it("shows viewers a generic reason, never libvirt's text", () => {
    const parse = "XML error: failed to parse xml document '/etc/shadow': root:$6$secret…";
    expect(hostReasonForViewers(parse)).toBe("the connection to the host's libvirt failed (see the worker log)");
    expect(hostReasonForViewers("Cannot recv data: Host key verification failed.")).toMatch(/identity could not be verified/);
    expect(hostReasonForViewers("unable to connect to server at 'pm-2:16514': Connection refused")).toMatch(
      /refused the connection/,
    );
  });

  it("keeps a missing simulated host file's own words for viewers, and a name that does not resolve as unreachable", () => {
    expect(
      hostReasonForViewers("[pm-9] HOST_UNREACHABLE: simulated host file /d/pm-9.xml does not exist (uri test:///d/pm-9.xml)"),
    ).toBe("HOST_UNREACHABLE: simulated host file /d/pm-9.xml does not exist");
    expect(hostReasonForViewers("ssh: Could not resolve hostname pm-9: Name or service not known")).toBe(
      "the host cannot be reached (see the worker log)",
    );
  });
});

describe("hostFailure / hostProbeFailed: why a connection failed, for the admin trying a URI", () => {
  it.each([
    ["Cannot recv data: ssh: connect to host 127.0.0.1 port 1: Connection refused: Connection reset by peer", "refused"],
    [
      "Cannot recv data: ssh: Could not resolve hostname pm-x.invalid: Name or service not known: Connection reset by peer",
      "unknown-host",
    ],
    ["connecting to qemu+ssh://pm-9/system timed out after 8000 ms", "timeout"],
    ["Cannot recv data: Permission denied (publickey,password).", "auth"],
    ["Cannot read CA certificate '/etc/pki/CA/cacert.pem': No such file or directory", "identity"],
    ["Cannot recv data: Host key verification failed.", "identity"],
    ["ssh: connect to host 10.9.9.9 port 22: No route to host", "unreachable"],
    ["simulated host file /d/pm-9.xml does not exist (uri test:///d/pm-9.xml)", "missing-file"],
    ["XML error: failed to parse xml document", "failed"],
  ])("%s → %s", (error, kind) => {
    expect(hostFailure(error).kind).toBe(kind);
  });

  it("answers the kind, a plain reason and libvirt's words without Malleo's prefix", () => {
    expect(
      hostProbeFailed(
        "[probe] HOST_UNREACHABLE: cannot connect to qemu+ssh://127.0.0.1:1/system: Cannot recv data: ssh: connect to host 127.0.0.1 port 1: Connection refused",
      ),
    ).toEqual({
      ok: false,
      kind: "refused",
      reason: "the host refused the connection",
      detail:
        "cannot connect to qemu+ssh://127.0.0.1:1/system: Cannot recv data: ssh: connect to host 127.0.0.1 port 1: Connection refused",
    });
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
