// One partition actor: owns a contiguous range of nodes and their ranks. Every iteration it sends
// each partition its nodes have edges into one message: the contributions along those edges, in
// (source node, edge) order. A partition computes iteration k + 1 once it holds the iteration-k
// message of every partition with edges into it, adding them in partition order — which is
// (source node, edge) order, the reference's. Messages carry their iteration, so no timing, hold
// or move can change the arithmetic; every handler call ends between iterations (the safe point).
import { defineBehavior, type ActorContext } from "@malleo/sdk";
import { contribution, initialRank, nextRank, nodeEdges, partitionOf, partitionRange, type GraphConfig } from "./graph";

export const PAGERANK_PARTITION_BEHAVIOR = "pagerank.partition";

/** Spawn arguments of one partition. */
export interface PartitionInit extends GraphConfig {
  index: number;
  /** UAN of every partition, by index. */
  owners: string[];
  maxIterations: number | null;
  iterationDelayMs: number;
}

/** Edges from this partition into partition `to`: the local source node of each, in edge order. */
interface Outgoing {
  to: number;
  sources: Int32Array;
}

/** Edges from partition `from` into this one: the local target node of each, in the sender's order. */
interface Incoming {
  from: number;
  targets: Int32Array;
}

export interface PartitionState extends PartitionInit {
  first: number;
  end: number;
  /** Iterations completed; `rank` holds the ranks after this many. */
  iteration: number;
  rank: Float64Array;
  degree: Int32Array;
  outgoing: Outgoing[];
  /** In partition order: the order contributions are added in. */
  incoming: Incoming[];
  /** Contributions received, by iteration then sending partition. */
  pending: Map<number, Map<number, Float64Array>>;
  waitingForTick: boolean;
}

export type PartitionMessage =
  { kind: "contributions"; iteration: number; from: number; values: Float64Array } | { kind: "tick" };

function isFinished(state: PartitionState): boolean {
  return state.maxIterations !== null && state.iteration >= state.maxIterations;
}

/** Builds this partition's view of the graph: its nodes' out-edges and everyone's edges into it. */
export function initPartition(init: PartitionInit): PartitionState {
  const partitions = init.owners.length;
  const { first, end } = partitionRange(init.nodes, partitions, init.index);
  const degree = new Int32Array(end - first);
  const outgoingSources = new Map<number, number[]>();
  const incomingTargets = new Map<number, number[]>();
  for (let node = 0; node < init.nodes; node++) {
    const edges = nodeEdges(init, node);
    const mine = node >= first && node < end;
    if (mine) degree[node - first] = edges.length;
    const from = mine ? init.index : partitionOf(init.nodes, partitions, node);
    for (const target of edges) {
      const to = partitionOf(init.nodes, partitions, target);
      if (mine) push(outgoingSources, to, node - first);
      if (to === init.index) push(incomingTargets, from, target - first);
    }
  }
  const sorted = (m: Map<number, number[]>) => [...m.entries()].sort((a, b) => a[0] - b[0]);
  return {
    ...init,
    first,
    end,
    iteration: 0,
    rank: new Float64Array(end - first).fill(initialRank(init.nodes)),
    degree,
    outgoing: sorted(outgoingSources).map(([to, list]) => ({ to, sources: Int32Array.from(list) })),
    incoming: sorted(incomingTargets).map(([from, list]) => ({ from, targets: Int32Array.from(list) })),
    pending: new Map(),
    waitingForTick: false,
  };
}

function push(m: Map<number, number[]>, key: number, value: number): void {
  const list = m.get(key);
  if (list) list.push(value);
  else m.set(key, [value]);
}

function receiveContributions(state: PartitionState, iteration: number, from: number, values: Float64Array): void {
  let byFrom = state.pending.get(iteration);
  if (!byFrom) state.pending.set(iteration, (byFrom = new Map()));
  byFrom.set(from, values);
}

function sendContributions(state: PartitionState, context: ActorContext): void {
  if (isFinished(state)) return; // nobody computes the iteration these would feed
  for (const out of state.outgoing) {
    const values = new Float64Array(out.sources.length);
    for (let i = 0; i < out.sources.length; i++) {
      const local = out.sources[i]!;
      values[i] = contribution(state.rank[local]!, state.degree[local]!);
    }
    if (out.to === state.index) receiveContributions(state, state.iteration, state.index, values);
    else {
      context.send(state.owners[out.to]!, {
        kind: "contributions",
        iteration: state.iteration,
        from: state.index,
        values,
      } satisfies PartitionMessage);
    }
  }
}

/** Computes every iteration whose contributions are all here. */
function advance(state: PartitionState, context: ActorContext): PartitionState {
  while (!isFinished(state) && !state.waitingForTick) {
    const byFrom = state.pending.get(state.iteration);
    if ((byFrom?.size ?? 0) < state.incoming.length) break;
    const sums = new Float64Array(state.rank.length);
    for (const incoming of state.incoming) {
      const values = byFrom!.get(incoming.from)!;
      for (let i = 0; i < incoming.targets.length; i++) {
        const target = incoming.targets[i]!;
        sums[target] = sums[target]! + values[i]!;
      }
    }
    for (let local = 0; local < sums.length; local++) state.rank[local] = nextRank(state, sums[local]!);
    state.pending.delete(state.iteration);
    state.iteration++;
    sendContributions(state, context);
    if (state.iterationDelayMs > 0 && !isFinished(state)) {
      state.waitingForTick = true;
      context.schedule({ kind: "tick" } satisfies PartitionMessage, state.iterationDelayMs);
    }
  }
  return state;
}

export const pagerankPartitionBehavior = defineBehavior<PartitionState, PartitionMessage>({
  init: (args) => initPartition(args as PartitionInit),
  start(state, context) {
    sendContributions(state, context);
    return advance(state, context);
  },
  receive(state, message, context) {
    if (message.kind === "contributions") receiveContributions(state, message.iteration, message.from, message.values);
    else state.waitingForTick = false;
    return advance(state, context);
  },
  progress: (state) => state.iteration,
});

export function isPartitionState(value: unknown): value is PartitionState {
  const s = value as Partial<PartitionState> | null;
  return (
    typeof s === "object" &&
    s !== null &&
    s.rank instanceof Float64Array &&
    typeof s.first === "number" &&
    typeof s.end === "number" &&
    typeof s.iteration === "number"
  );
}
