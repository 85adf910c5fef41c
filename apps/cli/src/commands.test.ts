import { describe, expect, it } from "vitest";
import {
  hostTestCommand,
  parseAutoRecoveryArgs,
  parseDeployArgs,
  parseReadyArgs,
  parseRestoreArgs,
  parseTransfer,
  parseUpgradeStrategy,
  readyCommand,
  UsageError,
  waitingLine,
} from "./commands";

const ID = "6f1d2c1e-8a43-4b4e-9c55-0d7a3f1e2b10";

describe("malleo ready extend|abort <operation-id>", () => {
  it("reads the decision and the operation id", () => {
    expect(parseReadyArgs(["extend", ID])).toEqual({ id: ID, decision: "extend" });
    expect(parseReadyArgs(["abort", ID])).toEqual({ id: ID, decision: "abort" });
  });

  it("explains a mistyped command with the usage line", () => {
    expect(() => parseReadyArgs([])).toThrow(new UsageError("usage: malleo ready extend|abort <operation-id>"));
    expect(() => parseReadyArgs(["later", ID])).toThrow(
      "malleo ready takes extend or abort, not later\nusage: malleo ready extend|abort <operation-id>",
    );
    expect(() => parseReadyArgs(["extend"])).toThrow(UsageError);
    expect(() => parseReadyArgs(["abort", ID, "extra"])).toThrow(UsageError);
  });

  it("sends the decision as operations.decideReadyTimeout and says what happens next", async () => {
    const sent: unknown[] = [];
    const api = {
      operations: {
        decideReadyTimeout: {
          mutate: async (input: { id: string; decision: "extend" | "abort" }) => {
            sent.push(input);
            return { ...input, by: "otto" };
          },
        },
      },
    };
    const extend = await readyCommand(api, ["extend", ID]);
    expect(extend.json).toEqual({ id: ID, decision: "extend", by: "otto" });
    expect(extend.human).toBe(
      `operation ${ID}: waiting longer — the worker asks the actors that were not ready again\n  follow it: malleo watch ${ID}`,
    );
    const abort = await readyCommand(api, ["abort", ID]);
    expect(abort.human).toBe(
      `operation ${ID}: aborted at the ready barrier — the worker rolls it back\n  follow it: malleo watch ${ID}`,
    );
    expect(sent).toEqual([
      { id: ID, decision: "extend" },
      { id: ID, decision: "abort" },
    ]);
  });

  it("passes the server's refusal through (the CLI prints its message)", async () => {
    const api = {
      operations: {
        decideReadyTimeout: {
          mutate: async () => {
            throw new Error(`operation ${ID} is not waiting on a ready barrier; extend or abort applies only then`);
          },
        },
      },
    };
    await expect(readyCommand(api, ["extend", ID])).rejects.toThrow(/is not waiting on a ready barrier/);
  });
});

describe("--transfer live|barrier", () => {
  it("is live unless barrier is asked for", () => {
    expect(parseTransfer(undefined)).toBe("live");
    expect(parseTransfer("live")).toBe("live");
    expect(parseTransfer("barrier")).toBe("barrier");
  });

  it("explains both modes when given anything else", () => {
    expect(() => parseTransfer("fast")).toThrow(
      new UsageError(
        "--transfer is live (each actor pauses only while it moves) or barrier (all actors pause together), not fast",
      ),
    );
    expect(() => parseTransfer("")).toThrow(/, not ""$/);
  });
});

describe("--strategy rolling|restart of an upgrade", () => {
  it("is left to the server unless given, and names both strategies when mistyped", () => {
    expect(parseUpgradeStrategy(undefined)).toBeUndefined();
    expect(parseUpgradeStrategy("rolling")).toBe("rolling");
    expect(parseUpgradeStrategy("restart")).toBe("restart");
    expect(() => parseUpgradeStrategy("sideways")).toThrow(UsageError);
    expect(() => parseUpgradeStrategy("sideways")).toThrow(/^--strategy is rolling \(.*\) or restart \(.*\), not sideways$/);
    expect(() => parseUpgradeStrategy("")).toThrow(/, not ""$/);
  });
});

describe("what watch prints while an operation waits", () => {
  const reason = "ready barrier timed out after 300 ms; not ready: uan://heat/slab-3; extend the wait or abort";
  it("names the reason and, at a ready barrier, the commands that answer it", () => {
    expect(waitingLine({ id: ID, status: "running", waitingReason: reason })).toBe(
      `  waiting: ${reason}\n  answer it: malleo ready extend ${ID}  |  malleo ready abort ${ID}`,
    );
    expect(waitingLine({ id: ID, status: "cleanup_pending", waitingReason: "clean up failed; retrying in 2 s" })).toBe(
      "  waiting: clean up failed; retrying in 2 s",
    );
  });
  it("prints nothing when the operation is not waiting", () => {
    expect(waitingLine({ id: ID, status: "running", waitingReason: null })).toBeNull();
    expect(waitingLine({ id: ID, status: "rolled_back", waitingReason: reason })).toBeNull();
  });
});

describe("malleo deploy", () => {
  const defaults = { nodes: 20000, partitions: 16 };
  it("lays --config over the kind's default and reads one HOST:VCPUS:MEMORY_MIB per VM", () => {
    expect(
      parseDeployArgs(["pagerank"], { id: "ranks", vms: "pm-1:2:2048,pm-2:4:4096", config: '{"nodes":500}' }, defaults),
    ).toEqual({
      applicationId: "ranks",
      kind: "pagerank",
      config: { nodes: 500, partitions: 16 },
      vms: [
        { hostId: "pm-1", vcpus: 2, memoryMiB: 2048 },
        { hostId: "pm-2", vcpus: 4, memoryMiB: 4096 },
      ],
    });
  });
  it("refuses a malformed VM, a config that is not a JSON object, and missing --id or --vms", () => {
    expect(() => parseDeployArgs(["pagerank"], { id: "r", vms: "pm-1:2" }, defaults)).toThrow(
      /HOST:VCPUS:MEMORY_MIB .*not pm-1:2/,
    );
    expect(() => parseDeployArgs(["pagerank"], { id: "r", vms: "pm-1:two:2048" }, defaults)).toThrow(UsageError);
    expect(() => parseDeployArgs(["pagerank"], { id: "r", vms: "pm-1:2:2048", config: "{nodes:1}" }, defaults)).toThrow(
      /--config is not JSON/,
    );
    expect(() => parseDeployArgs(["pagerank"], { id: "r", vms: "pm-1:2:2048", config: "[1]" }, defaults)).toThrow(/JSON object/);
    expect(() => parseDeployArgs(["pagerank"], { vms: "pm-1:2:2048" }, defaults)).toThrow(/^usage: malleo deploy/);
    expect(() => parseDeployArgs([], { id: "r", vms: "pm-1:2:2048" }, defaults)).toThrow(/^usage: malleo deploy/);
  });
});

describe("restore and auto-recovery arguments", () => {
  it("reads an application and a checkpoint sequence (with or without #)", () => {
    expect(parseRestoreArgs(["heat", "3"])).toEqual({ applicationId: "heat", sequence: 3 });
    expect(parseRestoreArgs(["heat", "#12"])).toEqual({ applicationId: "heat", sequence: 12 });
  });
  it("refuses a missing, zero, fractional or extra argument with the usage", () => {
    for (const bad of [[], ["heat"], ["heat", "0"], ["heat", "1.5"], ["heat", "x"], ["heat", "3", "4"]])
      expect(() => parseRestoreArgs(bad)).toThrow(UsageError);
  });
  it("reads on and off, nothing else", () => {
    expect(parseAutoRecoveryArgs(["heat", "off"])).toEqual({ applicationId: "heat", enabled: false });
    expect(parseAutoRecoveryArgs(["heat", "on"])).toEqual({ applicationId: "heat", enabled: true });
    expect(() => parseAutoRecoveryArgs(["heat", "yes"])).toThrow(UsageError);
    expect(() => parseAutoRecoveryArgs(["heat"])).toThrow(UsageError);
  });
});

describe("malleo hosts test <uri>", () => {
  const apiAnswering = (answer: Awaited<ReturnType<Parameters<typeof hostTestCommand>[0]["hosts"]["test"]["mutate"]>>) => {
    const sent: unknown[] = [];
    return {
      sent,
      api: {
        hosts: {
          test: {
            mutate: async (input: { uri: string }) => {
              sent.push(input);
              return answer;
            },
          },
        },
      },
    };
  };

  it("sends the URI as hosts.test and prints what libvirt reported (exit 0)", async () => {
    const { api, sent } = apiAnswering({
      ok: true,
      cpus: 6,
      memoryMiB: 12288,
      model: "malleo-sim",
      hostname: "pm-4",
      elapsedMs: 3,
    });
    const r = await hostTestCommand(api, ["qemu+ssh://root@pm-4/system"]);
    expect(sent).toEqual([{ uri: "qemu+ssh://root@pm-4/system" }]);
    expect(r.exitCode).toBe(0);
    expect(r.human).toBe(
      "connected to pm-4: 6 CPUs, 12288 MiB (malleo-sim), answered in 3 ms\n  register it: the Admin page, or hosts.register",
    );
  });

  it("prints why it could not connect, with libvirt's words (exit 1)", async () => {
    const { api } = apiAnswering({
      ok: false,
      kind: "refused",
      reason: "the host refused the connection",
      detail: "ssh: connect to host 127.0.0.1 port 1: Connection refused",
    });
    const r = await hostTestCommand(api, ["qemu+ssh://127.0.0.1:1/system"]);
    expect(r.exitCode).toBe(1);
    expect(r.human).toBe(
      "cannot connect to qemu+ssh://127.0.0.1:1/system: the host refused the connection (refused)\n  libvirt: ssh: connect to host 127.0.0.1 port 1: Connection refused",
    );
  });

  it("needs exactly one URI", async () => {
    const { api, sent } = apiAnswering({ ok: true, cpus: 1, memoryMiB: 1, elapsedMs: 1 });
    await expect(hostTestCommand(api, [])).rejects.toThrow(new UsageError("usage: malleo hosts test <libvirt-uri>"));
    await expect(hostTestCommand(api, ["test:///default", "extra"])).rejects.toThrow(UsageError);
    expect(sent).toEqual([]);
  });
});
