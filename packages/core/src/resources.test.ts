import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { AppError } from "./errors";
import { divideResources, MEMORY_FLOOR_MIB, sumResources } from "./resources";

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
