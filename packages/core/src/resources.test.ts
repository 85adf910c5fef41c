import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { AppError } from "./errors";
import { cpuPercent, divideResources, divideResourcesByWeights, MEMORY_FLOOR_MIB, sumResources } from "./resources";

describe("divideResources", () => {
  it("divides 4 vCPUs and 8 GiB evenly in two", () => {
    expect(divideResources({ vcpus: 4, memoryMiB: 8192 }, 2)).toEqual([
      { vcpus: 2, memoryMiB: 4096 },
      { vcpus: 2, memoryMiB: 4096 },
    ]);
  });

  it("conserves vCPUs and memory exactly and differs by at most one unit between targets", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 128 }),
        fc.integer({ min: 512, max: 1 << 20 }),
        fc.integer({ min: 2, max: 128 }),
        (vcpus, mem, n) => {
          fc.pre(n <= vcpus && Math.floor(mem / n) >= MEMORY_FLOOR_MIB);
          const parts = divideResources({ vcpus, memoryMiB: mem }, n);
          expect(parts).toHaveLength(n);
          expect(sumResources(parts)).toEqual({ vcpus, memoryMiB: mem });
          const cpus = parts.map((p) => p.vcpus);
          expect(Math.max(...cpus) - Math.min(...cpus)).toBeLessThanOrEqual(1);
          expect(Math.min(...cpus)).toBeGreaterThanOrEqual(1);
        },
      ),
    );
  });

  it.each([
    [{ vcpus: 4, memoryMiB: 8192 }, 1, /at least 2/],
    [{ vcpus: 4, memoryMiB: 8192 }, 5, /at most 4 VMs/],
    [{ vcpus: 8, memoryMiB: 1024 }, 8, /below the 256 MiB floor; at most 4 targets/],
  ])("refuses %o into %i with a message saying what would be accepted", (source, n, message) => {
    try {
      divideResources(source, n);
      expect.unreachable();
    } catch (e) {
      expect(AppError.is(e)).toBe(true);
      expect((e as AppError).code).toBe("SPLIT_TOO_SMALL");
      expect((e as Error).message).toMatch(message);
    }
  });
});

describe("divideResourcesByWeights", () => {
  it("gives each target its weighted share of vCPUs and memory", () => {
    expect(divideResourcesByWeights({ vcpus: 4, memoryMiB: 8192 }, [3, 1])).toEqual([
      { vcpus: 3, memoryMiB: 6144 },
      { vcpus: 1, memoryMiB: 2048 },
    ]);
  });

  it("equals the even division for equal weights", () => {
    expect(divideResourcesByWeights({ vcpus: 5, memoryMiB: 1025 }, [1, 1])).toEqual(
      divideResources({ vcpus: 5, memoryMiB: 1025 }, 2),
    );
  });

  it("conserves vCPUs and memory exactly, with at least one vCPU per target", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 64 }),
        fc.integer({ min: 1024, max: 1 << 20 }),
        fc.array(fc.integer({ min: 1, max: 10 }), { minLength: 2, maxLength: 8 }),
        (vcpus, mem, weights) => {
          fc.pre(weights.length <= vcpus);
          const total = weights.reduce((s, w) => s + w, 0);
          fc.pre(weights.every((w) => Math.floor((mem * w) / total) >= MEMORY_FLOOR_MIB));
          const parts = divideResourcesByWeights({ vcpus, memoryMiB: mem }, weights);
          expect(sumResources(parts)).toEqual({ vcpus, memoryMiB: mem });
          expect(parts.every((p) => p.vcpus >= 1 && p.memoryMiB >= MEMORY_FLOOR_MIB)).toBe(true);
        },
      ),
    );
  });

  it("refuses naming the target that would fall below the memory floor", () => {
    expect(() => divideResourcesByWeights({ vcpus: 4, memoryMiB: 1024 }, [7, 1])).toThrow(/target 2 would get 128 MiB/);
  });

  it("refuses more targets than vCPUs and non-positive weights", () => {
    expect(() => divideResourcesByWeights({ vcpus: 2, memoryMiB: 8192 }, [1, 1, 1])).toThrow(AppError);
    expect(() => divideResourcesByWeights({ vcpus: 4, memoryMiB: 8192 }, [1, 0])).toThrow(/positive/);
  });
});

describe("cpuPercent", () => {
  it("is the share of the VM's vCPUs that was busy", () => {
    // 1 s of CPU time over 1 s of wall time on 2 vCPUs: half busy.
    expect(cpuPercent({ cpuTimeNs: 0, atMs: 0 }, { cpuTimeNs: 1e9, atMs: 1000 }, 2)).toBe(50);
  });

  it("caps at 100 and refuses readings it cannot compare", () => {
    expect(cpuPercent({ cpuTimeNs: 0, atMs: 0 }, { cpuTimeNs: 5e9, atMs: 1000 }, 1)).toBe(100);
    expect(cpuPercent({ cpuTimeNs: 5e9, atMs: 0 }, { cpuTimeNs: 1e9, atMs: 1000 }, 1)).toBeUndefined();
    expect(cpuPercent({ cpuTimeNs: 0, atMs: 1000 }, { cpuTimeNs: 1e9, atMs: 1000 }, 1)).toBeUndefined();
  });
});
