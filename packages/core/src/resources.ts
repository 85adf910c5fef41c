import { AppError } from "./errors";

export interface Resources {
  vcpus: number;
  memoryMiB: number;
}

/** No VM is made smaller than this. */
export const MEMORY_FLOOR_MIB = 256;

/**
 * Divides a VM's vCPUs and memory evenly among `n` targets; the remainder goes to the first
 * targets so that nothing is lost or invented. Memory is divided in whole MiB.
 */
export function divideResources(source: Resources, n: number): Resources[] {
  if (!Number.isInteger(n) || n < 2) {
    throw new AppError("SPLIT_TOO_SMALL", `a split needs at least 2 targets; got ${n}`, { n });
  }
  if (n > source.vcpus) {
    throw new AppError(
      "SPLIT_TOO_SMALL",
      `a VM with ${source.vcpus} vCPUs can be split into at most ${source.vcpus} VMs; got ${n}`,
      { n, vcpus: source.vcpus },
    );
  }
  const memEach = Math.floor(source.memoryMiB / n);
  if (memEach < MEMORY_FLOOR_MIB) {
    throw new AppError(
      "SPLIT_TOO_SMALL",
      `splitting ${source.memoryMiB} MiB into ${n} VMs gives ${memEach} MiB each, below the ${MEMORY_FLOOR_MIB} MiB floor; at most ${Math.floor(source.memoryMiB / MEMORY_FLOOR_MIB)} targets`,
      { n, memoryMiB: source.memoryMiB },
    );
  }
  const cpuEach = Math.floor(source.vcpus / n);
  const cpuRest = source.vcpus % n;
  const memRest = source.memoryMiB % n;
  return Array.from({ length: n }, (_, i) => ({
    vcpus: cpuEach + (i < cpuRest ? 1 : 0),
    memoryMiB: memEach + (i < memRest ? 1 : 0),
  }));
}

/** A merge target holds the combined resources of its sources. */
export function sumResources(sources: Resources[]): Resources {
  return sources.reduce((acc, r) => ({ vcpus: acc.vcpus + r.vcpus, memoryMiB: acc.memoryMiB + r.memoryMiB }), {
    vcpus: 0,
    memoryMiB: 0,
  });
}

/**
 * Divides a VM's vCPUs and memory among targets in proportion to the operator's weights
 * (e.g. [3, 1] gives the first target three quarters). Largest-remainder rounding: the parts
 * sum exactly to the source, every target gets at least one vCPU and the memory floor, and a
 * refusal says which target would fall short. Equal weights give divideResources' result.
 */
export function divideResourcesByWeights(source: Resources, weights: number[]): Resources[] {
  const n = weights.length;
  if (n < 2) throw new AppError("SPLIT_TOO_SMALL", `a split needs at least 2 targets; got ${n}`, { n });
  if (!weights.every((w) => Number.isFinite(w) && w > 0))
    throw new AppError("SPLIT_TOO_SMALL", `every weight must be a positive number; got [${weights.join(", ")}]`, { weights });
  if (n > source.vcpus)
    throw new AppError(
      "SPLIT_TOO_SMALL",
      `a VM with ${source.vcpus} vCPUs can be split into at most ${source.vcpus} VMs; got ${n}`,
      { n, vcpus: source.vcpus },
    );
  const total = weights.reduce((s, w) => s + w, 0);
  const shares = (amount: number, min: number): number[] => {
    // Everyone gets `min`; the rest is shared by weight with largest-remainder rounding.
    const rest = amount - min * n;
    const exact = weights.map((w) => (rest * w) / total);
    const parts = exact.map((x) => Math.floor(x));
    let left = rest - parts.reduce((s, p) => s + p, 0);
    const order = exact.map((x, i) => [x - Math.floor(x), i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
    for (const [, i] of order) {
      if (left <= 0) break;
      parts[i]! += 1;
      left -= 1;
    }
    return parts.map((p) => p + min);
  };
  const memory = weights.map((w) => Math.floor((source.memoryMiB * w) / total));
  const short = memory.findIndex((m) => m < MEMORY_FLOOR_MIB);
  if (short >= 0)
    throw new AppError(
      "SPLIT_TOO_SMALL",
      `target ${short + 1} would get ${memory[short]} MiB of ${source.memoryMiB} MiB (weight ${weights[short]} of ${total}), below the ${MEMORY_FLOOR_MIB} MiB floor`,
      { target: short + 1, memoryMiB: memory[short], floor: MEMORY_FLOOR_MIB },
    );
  const cpus = shares(source.vcpus, 1);
  const mems = shares(source.memoryMiB, 0);
  return cpus.map((vcpus, i) => ({ vcpus, memoryMiB: mems[i]! }));
}

/**
 * CPU usage in percent of a VM's vCPUs between two readings of libvirt's cumulative CPU time
 * (100 = every vCPU busy all the time). Undefined when the readings cannot be compared: no
 * time passed, or the counter went backwards (the domain restarted).
 */
export function cpuPercent(
  previous: { cpuTimeNs: number; atMs: number },
  next: { cpuTimeNs: number; atMs: number },
  vcpus: number,
): number | undefined {
  const wallNs = (next.atMs - previous.atMs) * 1e6;
  const usedNs = next.cpuTimeNs - previous.cpuTimeNs;
  if (!(wallNs > 0) || usedNs < 0 || !(vcpus >= 1)) return undefined;
  return Math.min(100, (100 * usedNs) / (wallNs * vcpus));
}
