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
