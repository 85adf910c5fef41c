// The generated graph and the sequential reference. Every node has at least one out-edge (so no
// rank leaks through dangling nodes) and its edges come from a generator seeded by (seed, node),
// so any process can rebuild any part of the graph without the rest.
//
// Bit-exactness: a node's new rank is (1 − d)/N + d · Σ contributions, where the sum runs over
// its in-edges in (source node, edge) order. The sequential reference and the partitions add in
// exactly that order, with the same expressions, so their ranks agree to the last bit.

export interface GraphConfig {
  nodes: number;
  /** Each node gets 1..maxOutDegree out-edges. */
  maxOutDegree: number;
  seed: number;
  /** Damping factor d, 0 < d < 1. */
  damping: number;
}

/** xorshift-multiply hash of two 32-bit integers: the same in every process. */
function mix(a: number, b: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x632be5ab, 0xc2b2ae35);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  h = Math.imul(h, 0x297a2d39);
  h ^= h >>> 15;
  return h >>> 0;
}

/**
 * The out-edges of `node`, in edge order. Targets lean towards low node numbers (x² of a uniform
 * draw), so ranks are far from uniform and a misplaced contribution shows.
 */
export function nodeEdges(config: GraphConfig, node: number): Int32Array {
  const degree = 1 + (mix(config.seed, node) % config.maxOutDegree);
  const edges = new Int32Array(degree);
  for (let k = 0; k < degree; k++) {
    const x = mix(mix(config.seed, node), k + 1) / 4294967296;
    edges[k] = Math.min(config.nodes - 1, Math.floor(config.nodes * x * x));
  }
  return edges;
}

/** Nodes [first, end) of partition `index` of `partitions`: contiguous, sizes differing by at most one. */
export function partitionRange(nodes: number, partitions: number, index: number): { first: number; end: number } {
  const base = Math.floor(nodes / partitions);
  const larger = nodes % partitions;
  const first = index * base + Math.min(index, larger);
  return { first, end: first + base + (index < larger ? 1 : 0) };
}

/** The partition that owns `node`. */
export function partitionOf(nodes: number, partitions: number, node: number): number {
  const base = Math.floor(nodes / partitions);
  const larger = nodes % partitions;
  const boundary = larger * (base + 1);
  return node < boundary ? Math.floor(node / (base + 1)) : larger + Math.floor((node - boundary) / base);
}

export function initialRank(nodes: number): number {
  return 1 / nodes;
}

/** The share of `rank` a node sends along each of its `degree` out-edges. */
export function contribution(rank: number, degree: number): number {
  return rank / degree;
}

/** A node's new rank from the sum of its in-edge contributions. */
export function nextRank(config: GraphConfig, sum: number): number {
  return (1 - config.damping) / config.nodes + config.damping * sum;
}

/** `iterations` PageRank iterations over the whole graph in one loop: the reference. */
export function pagerankSequential(config: GraphConfig, iterations: number): Float64Array {
  const edges = Array.from({ length: config.nodes }, (_, node) => nodeEdges(config, node));
  let rank = new Float64Array(config.nodes).fill(initialRank(config.nodes));
  for (let iteration = 0; iteration < iterations; iteration++) {
    const sums = new Float64Array(config.nodes);
    for (let node = 0; node < config.nodes; node++) {
      const out = edges[node]!;
      const share = contribution(rank[node]!, out.length);
      for (const target of out) sums[target] = sums[target]! + share;
    }
    const next = new Float64Array(config.nodes);
    for (let node = 0; node < config.nodes; node++) next[node] = nextRank(config, sums[node]!);
    rank = next;
  }
  return rank;
}
