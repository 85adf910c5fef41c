// Which actors go to which target VM. Heat slabs trade rows with their neighbours every
// iteration, so a split gives each target a contiguous run of slabs (one boundary per target
// instead of one per slab) and a merge keeps slab order. Crawler partitions only talk in
// batches, so a split balances their measured load (e.g. the profiler's handler time).
export interface MeasuredActor {
  uan: string;
  /** Any additive measure of work: handler milliseconds, messages handled, pages fetched. */
  load: number;
}

/** Contiguous runs of slabs in slab order (UANs sort in slab order), sizes differing by at most one. */
export function planHeatSplit(uans: string[], targets: number): string[][] {
  checkTargets(targets);
  const ordered = [...uans].sort();
  const base = Math.floor(ordered.length / targets);
  const larger = ordered.length % targets;
  const groups: string[][] = [];
  let start = 0;
  for (let index = 0; index < targets; index++) {
    const size = base + (index < larger ? 1 : 0);
    groups.push(ordered.slice(start, start + size));
    start += size;
  }
  return groups;
}

/** Heaviest first onto the least loaded target (LPT): no target ends more than one actor's load above another. */
export function planCrawlerSplit(actors: MeasuredActor[], targets: number): string[][] {
  checkTargets(targets);
  const groups = Array.from({ length: targets }, () => ({ load: 0, uans: [] as string[] }));
  const ordered = [...actors].sort((a, b) => b.load - a.load || a.uan.localeCompare(b.uan));
  for (const actor of ordered) {
    const lightest = groups.reduce((best, group) =>
      group.load < best.load || (group.load === best.load && group.uans.length < best.uans.length) ? group : best,
    );
    lightest.load += Math.max(0, actor.load);
    lightest.uans.push(actor.uan);
  }
  return groups.map((group) => group.uans.sort());
}

/** A merge keeps slab (and partition) order: the target hosts everything, in name order. */
export function planMergeOrder(groups: string[][]): string[] {
  return groups.flat().sort();
}

function checkTargets(targets: number): void {
  if (!Number.isInteger(targets) || targets < 1) throw new Error(`targets must be a positive integer, got ${targets}`);
}
