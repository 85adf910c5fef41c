// Heat diffusion on a 2D plate by Jacobi relaxation: the plate's edges hold fixed temperatures
// and every interior cell becomes the mean of its four neighbours, iteration after iteration.
// The actor version splits the rows into slabs, one per actor, which trade their edge rows
// ("ghost rows") with their neighbours every iteration. Ghost rows are tagged with the iteration
// they belong to, so there is no global barrier and no timing can change the arithmetic: both
// kernels call `relaxRow`, so the result is bit-identical to `heatSequential`.
// Names from their own entry point: the API validates deployments with this module and must not load the theater runtime.
import type { ActorBehavior, ActorContext, ActorSpec, BehaviorRegistry } from "@malleo/actors";
import { formatUan } from "@malleo/actors/names";

export const HEAT_SLAB_BEHAVIOR = "heat.slab";
export const HEAT_HOT_EDGE_TEMPERATURE = 100;

export interface HeatConfig {
  width: number;
  height: number;
  actors: number;
  /** Stop after this many iterations; null runs forever. */
  maxIterations: number | null;
  /** Pause between iterations, to make a demo watchable (0 = flat out). */
  iterationDelayMs: number;
}

export interface SlabRows {
  /** First global row owned (inclusive). */
  rowStart: number;
  /** One past the last global row owned. */
  rowEnd: number;
}

/** Spawn arguments of one slab actor. */
export interface HeatSlabInit {
  width: number;
  height: number;
  actors: number;
  index: number;
  maxIterations: number | null;
  iterationDelayMs: number;
  /** UAN of the slab above (lower row numbers), null for the first slab. */
  upper: string | null;
  /** UAN of the slab below, null for the last slab. */
  lower: string | null;
}

export interface HeatSlabState extends HeatSlabInit, SlabRows {
  /** Number of iterations completed; `rows` holds the slab at this iteration. */
  iteration: number;
  rows: Float64Array;
  /** Row just above the slab, by the iteration it belongs to (at most two are ever waiting). */
  ghostsAbove: Map<number, Float64Array>;
  /** Row just below the slab, by iteration. */
  ghostsBelow: Map<number, Float64Array>;
  /** Throttled: the next iteration waits for a `tick` self-message. */
  waitingForTick: boolean;
}

export type HeatMessage =
  /** `side` says where the row lies relative to the receiving slab. */
  { kind: "ghost"; side: "above" | "below"; iteration: number; row: Float64Array } | { kind: "tick" };

// ── Pure kernel ─────────────────────────────────────────────────────────────────────────────────

/** Initial temperature of one cell: hot top edge, cold other edges, a fixed texture inside. */
export function heatInitialValue(width: number, height: number, row: number, column: number): number {
  if (row === 0) return HEAT_HOT_EDGE_TEMPERATURE;
  if (row === height - 1 || column === 0 || column === width - 1) return 0;
  // A deterministic non-uniform interior, so a misplaced row or cell cannot go unnoticed.
  return ((row * 7 + column * 13) % 17) / 17;
}

export function heatInitialGrid(width: number, height: number): Float64Array {
  validateGridSize(width, height);
  const grid = new Float64Array(width * height);
  for (let row = 0; row < height; row++) {
    for (let column = 0; column < width; column++) grid[row * width + column] = heatInitialValue(width, height, row, column);
  }
  return grid;
}

/**
 * One interior row of one Jacobi step. The single place where the arithmetic happens, so the
 * sequential and the actor kernels add in the same order and agree to the last bit.
 */
export function relaxRow(out: Float64Array, above: Float64Array, center: Float64Array, below: Float64Array): void {
  const width = center.length;
  out[0] = center[0]!;
  out[width - 1] = center[width - 1]!;
  for (let column = 1; column < width - 1; column++) {
    out[column] = 0.25 * (above[column]! + below[column]! + center[column - 1]! + center[column + 1]!);
  }
}

function isFixedRow(row: number, height: number): boolean {
  return row === 0 || row === height - 1;
}

/** One Jacobi step of the whole grid, from `current` into `next`. */
export function heatStep(current: Float64Array, next: Float64Array, width: number, height: number): void {
  const rowOf = (grid: Float64Array, row: number) => grid.subarray(row * width, (row + 1) * width);
  for (let row = 0; row < height; row++) {
    if (isFixedRow(row, height)) rowOf(next, row).set(rowOf(current, row));
    else relaxRow(rowOf(next, row), rowOf(current, row - 1), rowOf(current, row), rowOf(current, row + 1));
  }
}

export function heatSequential(width: number, height: number, iterations: number): Float64Array {
  if (!Number.isInteger(iterations) || iterations < 0)
    throw new Error(`iterations must be a non-negative integer, got ${iterations}`);
  let current = heatInitialGrid(width, height);
  let next: Float64Array = new Float64Array(current.length);
  for (let iteration = 0; iteration < iterations; iteration++) {
    heatStep(current, next, width, height);
    [current, next] = [next, current];
  }
  return current;
}

/** Rows of slab `index` of `actors`: contiguous, sizes differing by at most one, earlier slabs larger. */
export function heatSlabRows(height: number, actors: number, index: number): SlabRows {
  if (!Number.isInteger(actors) || actors < 1 || actors > height) {
    throw new Error(`actors must be an integer between 1 and the height (${height}), got ${actors}`);
  }
  if (!Number.isInteger(index) || index < 0 || index >= actors)
    throw new Error(`slab index ${index} out of range 0..${actors - 1}`);
  const base = Math.floor(height / actors);
  const larger = height % actors;
  const rowStart = index * base + Math.min(index, larger);
  return { rowStart, rowEnd: rowStart + base + (index < larger ? 1 : 0) };
}

/**
 * One Jacobi step of a slab. `ghostAbove`/`ghostBelow` are the neighbours' edge rows at the same
 * iteration (null when the slab touches the plate's edge there). Returns the new rows, written
 * into `out` when given (every cell is overwritten, so it may hold anything).
 */
export function relaxSlab(
  rows: Float64Array,
  slab: SlabRows,
  width: number,
  height: number,
  ghostAbove: Float64Array | null,
  ghostBelow: Float64Array | null,
  out?: Float64Array,
): Float64Array {
  const rowCount = slab.rowEnd - slab.rowStart;
  const next = out ?? new Float64Array(rows.length);
  const local = (grid: Float64Array, index: number) => grid.subarray(index * width, (index + 1) * width);
  for (let index = 0; index < rowCount; index++) {
    const row = slab.rowStart + index;
    if (isFixedRow(row, height)) {
      local(next, index).set(local(rows, index));
      continue;
    }
    const above = index === 0 ? ghostAbove : local(rows, index - 1);
    const below = index === rowCount - 1 ? ghostBelow : local(rows, index + 1);
    if (!above || !below) throw new Error(`row ${row} needs a ghost row ${above ? "below" : "above"}`);
    relaxRow(local(next, index), above, local(rows, index), below);
  }
  return next;
}

// ── Actors ──────────────────────────────────────────────────────────────────────────────────────

export function heatActorUan(app: string, index: number, actors: number): string {
  return formatUan(app, `slab-${String(index).padStart(String(actors - 1).length, "0")}`);
}

export function heatActorSpecs(app: string, cfg: HeatConfig): ActorSpec[] {
  validateConfig(cfg);
  const uan = (index: number) => heatActorUan(app, index, cfg.actors);
  return Array.from({ length: cfg.actors }, (_, index) => {
    const init: HeatSlabInit = {
      width: cfg.width,
      height: cfg.height,
      actors: cfg.actors,
      index,
      maxIterations: cfg.maxIterations,
      iterationDelayMs: cfg.iterationDelayMs,
      upper: index > 0 ? uan(index - 1) : null,
      lower: index < cfg.actors - 1 ? uan(index + 1) : null,
    };
    return { uan: uan(index), behavior: HEAT_SLAB_BEHAVIOR, init };
  });
}

export function isHeatSlabState(value: unknown): value is HeatSlabState {
  const state = value as Partial<HeatSlabState> | null;
  return (
    typeof state === "object" &&
    state !== null &&
    state.rows instanceof Float64Array &&
    typeof state.rowStart === "number" &&
    typeof state.rowEnd === "number" &&
    typeof state.iteration === "number"
  );
}

/** Puts the collected slab states back into one grid; every row must be covered exactly once. */
export function heatAssemble(cfg: HeatConfig, states: Map<string, unknown>): Float64Array {
  const grid = new Float64Array(cfg.width * cfg.height);
  const covered = new Uint8Array(cfg.height);
  for (const [uan, state] of states) {
    if (!isHeatSlabState(state)) throw new Error(`${uan} does not hold a heat slab state`);
    if (state.width !== cfg.width || state.rows.length !== (state.rowEnd - state.rowStart) * cfg.width) {
      throw new Error(`${uan} has a slab of the wrong shape`);
    }
    for (let row = state.rowStart; row < state.rowEnd; row++) {
      if (covered[row]) throw new Error(`row ${row} is held by more than one slab`);
      covered[row] = 1;
    }
    grid.set(state.rows, state.rowStart * cfg.width);
  }
  const missing = covered.indexOf(0);
  if (missing !== -1) throw new Error(`row ${missing} is held by no slab`);
  return grid;
}

function isFinished(state: HeatSlabState): boolean {
  return state.maxIterations !== null && state.iteration >= state.maxIterations;
}

function sendEdgeRows(state: HeatSlabState, context: ActorContext): void {
  if (isFinished(state)) return; // nobody will need rows of an iteration that is never computed
  const width = state.width;
  const rowCount = state.rowEnd - state.rowStart;
  // slice(): a view would carry the whole slab's buffer along with it.
  if (state.upper) {
    context.send(state.upper, {
      kind: "ghost",
      side: "below",
      iteration: state.iteration,
      row: state.rows.slice(0, width),
    } satisfies HeatMessage);
  }
  if (state.lower) {
    const row = state.rows.slice((rowCount - 1) * width, rowCount * width);
    context.send(state.lower, { kind: "ghost", side: "above", iteration: state.iteration, row } satisfies HeatMessage);
  }
}

// Slabs alternate between two buffers instead of allocating (and zeroing) a new one per
// iteration: at 1024² that allocation cost more than the arithmetic. A buffer is returned only
// once no state refers to it (ghost rows are copies), so sharing the pool across actors is safe.
const spareSlabBuffers = new Map<number, Float64Array[]>();

function takeSlabBuffer(length: number): Float64Array {
  return spareSlabBuffers.get(length)?.pop() ?? new Float64Array(length);
}

function returnSlabBuffer(buffer: Float64Array): void {
  const spares = spareSlabBuffers.get(buffer.length) ?? [];
  if (spares.length < 4) spares.push(buffer);
  spareSlabBuffers.set(buffer.length, spares);
}

/** Computes every iteration whose ghost rows are present. Each call ends between iterations: the safe point. */
function advance(state: HeatSlabState, context: ActorContext): HeatSlabState {
  while (!isFinished(state) && !state.waitingForTick) {
    const above = state.upper ? state.ghostsAbove.get(state.iteration) : null;
    const below = state.lower ? state.ghostsBelow.get(state.iteration) : null;
    if (above === undefined || below === undefined) break;
    const next = relaxSlab(state.rows, state, state.width, state.height, above, below, takeSlabBuffer(state.rows.length));
    returnSlabBuffer(state.rows);
    state.rows = next;
    state.ghostsAbove.delete(state.iteration);
    state.ghostsBelow.delete(state.iteration);
    state.iteration++;
    sendEdgeRows(state, context);
    if (state.iterationDelayMs > 0 && !isFinished(state)) {
      state.waitingForTick = true;
      context.schedule({ kind: "tick" } satisfies HeatMessage, state.iterationDelayMs);
    }
  }
  return state;
}

export const heatSlabBehavior: ActorBehavior<HeatSlabState, HeatMessage> = {
  init(args) {
    const init = args as HeatSlabInit;
    validateConfig({ ...init, maxIterations: init.maxIterations, iterationDelayMs: init.iterationDelayMs });
    const slab = heatSlabRows(init.height, init.actors, init.index);
    const rows = new Float64Array((slab.rowEnd - slab.rowStart) * init.width);
    for (let row = slab.rowStart; row < slab.rowEnd; row++) {
      for (let column = 0; column < init.width; column++) {
        rows[(row - slab.rowStart) * init.width + column] = heatInitialValue(init.width, init.height, row, column);
      }
    }
    return {
      ...init,
      ...slab,
      iteration: 0,
      rows,
      ghostsAbove: new Map(),
      ghostsBelow: new Map(),
      waitingForTick: false,
    };
  },
  start(state, context) {
    sendEdgeRows(state, context);
    return advance(state, context);
  },
  receive(state, message, context) {
    if (message.kind === "ghost") {
      (message.side === "above" ? state.ghostsAbove : state.ghostsBelow).set(message.iteration, message.row);
    } else if (message.kind === "tick") {
      state.waitingForTick = false;
    }
    return advance(state, context);
  },
  progress: (state) => state.iteration,
};

export const heatBehaviors: BehaviorRegistry = { [HEAT_SLAB_BEHAVIOR]: heatSlabBehavior };

function validateGridSize(width: number, height: number): void {
  if (!Number.isInteger(width) || width < 1 || !Number.isInteger(height) || height < 1) {
    throw new Error(`grid size must be positive integers, got ${width}×${height}`);
  }
}

function validateConfig(cfg: HeatConfig): void {
  validateGridSize(cfg.width, cfg.height);
  heatSlabRows(cfg.height, cfg.actors, 0);
  if (cfg.maxIterations !== null && (!Number.isInteger(cfg.maxIterations) || cfg.maxIterations < 0)) {
    throw new Error(`maxIterations must be null or a non-negative integer, got ${cfg.maxIterations}`);
  }
  if (!(cfg.iterationDelayMs >= 0)) throw new Error(`iterationDelayMs must be >= 0, got ${cfg.iterationDelayMs}`);
}
