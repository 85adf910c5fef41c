/**
 * Assigns actors (ordered by ordinal) to `n` targets in contiguous runs, so that neighbours in
 * a tightly coupled application (heat slabs) stay together. Sizes differ by at most one.
 */
export function contiguousGroups<T>(items: readonly T[], n: number): T[][] {
  const groups: T[][] = [];
  const base = Math.floor(items.length / n);
  const rest = items.length % n;
  let at = 0;
  for (let i = 0; i < n; i++) {
    const size = base + (i < rest ? 1 : 0);
    groups.push(items.slice(at, at + size));
    at += size;
  }
  return groups;
}
