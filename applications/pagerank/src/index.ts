// PageRank as a Malleo application, written against @malleo/sdk alone (docs/applications.md).
import { defineApplication, formatUan, z, type ActorSpec } from "@malleo/sdk";
import { isPartitionState, PAGERANK_PARTITION_BEHAVIOR, pagerankPartitionBehavior, type PartitionInit } from "./partition";

export interface PagerankConfig {
  nodes: number;
  partitions: number;
  maxOutDegree: number;
  seed: number;
  damping: number;
  /** Stop after this many iterations; null runs forever. */
  maxIterations: number | null;
  /** Pause between iterations, to make a demo watchable (0 = flat out). */
  iterationDelayMs: number;
}

export const pagerankConfigSchema = z
  .object({
    nodes: z.number().int().min(2).max(200_000),
    partitions: z.number().int().min(1).max(1024),
    maxOutDegree: z.number().int().min(1).max(64),
    seed: z.number().int().min(0).max(0xffffffff),
    damping: z.number().gt(0).lt(1),
    maxIterations: z.number().int().min(0).nullable(),
    iterationDelayMs: z.number().min(0).max(60_000),
  })
  .strict()
  .refine((c) => c.partitions <= c.nodes, { message: "partitions must be at most the number of nodes", path: ["partitions"] });

export function pagerankActorUan(appId: string, index: number, partitions: number): string {
  return formatUan(appId, `part-${String(index).padStart(String(partitions - 1).length, "0")}`);
}

export function pagerankActors(appId: string, config: PagerankConfig): ActorSpec[] {
  const owners = Array.from({ length: config.partitions }, (_, index) => pagerankActorUan(appId, index, config.partitions));
  return owners.map((uan, index) => ({
    uan,
    behavior: PAGERANK_PARTITION_BEHAVIOR,
    init: {
      nodes: config.nodes,
      maxOutDegree: config.maxOutDegree,
      seed: config.seed,
      damping: config.damping,
      index,
      owners,
      maxIterations: config.maxIterations,
      iterationDelayMs: config.iterationDelayMs,
    } satisfies PartitionInit,
  }));
}

/** The ranks of every node from the partitions' states; every node must be covered exactly once. */
export function pagerankAssemble(config: PagerankConfig, states: ReadonlyMap<string, unknown>): Float64Array {
  const ranks = new Float64Array(config.nodes);
  const covered = new Uint8Array(config.nodes);
  for (const [uan, state] of states) {
    if (!isPartitionState(state) || state.rank.length !== state.end - state.first)
      throw new Error(`${uan} does not hold a PageRank partition`);
    for (let node = state.first; node < state.end; node++) {
      if (covered[node]) throw new Error(`node ${node} is held by more than one partition`);
      covered[node] = 1;
    }
    ranks.set(state.rank, state.first);
  }
  const missing = covered.indexOf(0);
  if (missing !== -1) throw new Error(`node ${missing} is held by no partition`);
  return ranks;
}

export const pagerankApplication = defineApplication<PagerankConfig>({
  kind: "pagerank",
  version: "1.0.0",
  description: "PageRank over a generated graph, one actor per node range; bit-identical to the sequential reference",
  configSchema: pagerankConfigSchema,
  defaultConfig: {
    nodes: 20_000,
    partitions: 16,
    maxOutDegree: 8,
    seed: 1,
    damping: 0.85,
    maxIterations: null,
    iterationDelayMs: 50,
  },
  behaviors: { [PAGERANK_PARTITION_BEHAVIOR]: pagerankPartitionBehavior },
  actors: pagerankActors,
  result: pagerankAssemble,
});

export { pagerankSequential, nodeEdges, partitionOf, partitionRange, type GraphConfig } from "./graph";
export { PAGERANK_PARTITION_BEHAVIOR, isPartitionState, type PartitionState } from "./partition";
