import { AppError, distribution, type OperationPlan } from "@malleo/core";
import { actorListByVms, actorMove, publishEvent } from "@malleo/db";
import { crashIfAsked, killTheaterIfAsked } from "../recorded-step";
import { fx, workflowTimeouts } from "../runtime";
import { cancelRequestedBy } from "./cancel-check";
import type { Compensation, OperationContext } from "./context";

/** Actors of one source that go to one target. */
export interface Move {
  from: string;
  to: string;
  uans: string[];
}

/** Groups the planned actors of each target by the source VM that hosts them. */
export async function transferPlan(plan: OperationPlan): Promise<Move[]> {
  const actors = await actorListByVms(
    fx().db,
    plan.sources.map((s) => s.id),
  );
  const where = new Map(actors.map((a) => [a.uan, a.vmId]));
  const moves: Move[] = [];
  for (const target of plan.targets) {
    for (const source of plan.sources) {
      const uans = target.actors.filter((u) => where.get(u) === source.id);
      if (uans.length > 0) moves.push({ from: source.id, to: target.id, uans });
    }
  }
  return moves;
}

/**
 * Moves the actors of a move that are still at `from` (a resumed step finds some already
 * moved) and records all of them at `to`. An actor found nowhere is a loss: refuse loudly.
 */
async function moveActors(
  move: Move,
  live: boolean,
  afterMigration?: (phase: "unrecorded" | "recorded") => void,
): Promise<{ moved: number; bytes: number; holdMs: number[] }> {
  const where = await fx().locateActors(move.uans);
  const missing = move.uans.filter((u) => !where.has(u));
  if (missing.length > 0) {
    throw new AppError(
      "TRANSFER_FAILED",
      `${missing.length} actor(s) are not hosted by any theater: ${missing.slice(0, 5).join(", ")}`,
      { missing },
    );
  }
  const pending = move.uans.filter((u) => where.get(u) === move.from);
  const r = pending.length > 0 ? await fx().migrateActors(pending, move.from, move.to, { live }) : { moved: 0, bytes: 0 };
  afterMigration?.("unrecorded");
  await actorMove(fx().db, move.uans, move.to);
  afterMigration?.("recorded");
  return { moved: r.moved, bytes: r.bytes, holdMs: r.holdMs ?? [] };
}

/** The chaos suite's fault points after a move's migration (`unrecorded`) and its record. */
function faultPoint(operationId: string, index: number, phase: "unrecorded" | "recorded", move: Move): void {
  crashIfAsked(operationId, `transfer:move${index}:${phase}`);
  killTheaterIfAsked(operationId, `transfer:move${index}:${phase}`, move);
}

function chunked(moves: Move[], size: number): Move[] {
  return moves.flatMap((m) =>
    Array.from({ length: Math.ceil(m.uans.length / size) }, (_, i) => ({ ...m, uans: m.uans.slice(i * size, (i + 1) * size) })),
  );
}

export interface TransferResult {
  mode: "live" | "barrier";
  moved: number;
  bytes: number;
  /** Hold time per moved actor (ms): p50, p99, max. */
  hold: { count: number; p50: number; p99: number; max: number } | null;
  /** When the first actor was asked to hold, and when the last one ran again (epoch ms). */
  heldFromMs: number;
  heldUntilMs: number;
}

/**
 * Live transfer (the default): no global stop. Small moves of a few actors each, several in
 * flight; each actor holds only while its own move runs and runs at the target as soon as it is
 * committed there, while its neighbours keep running (what they send it meanwhile is buffered at
 * the source and forwarded in order). The operator's cancel is read between moves: what already
 * moved is moved back by the rollback.
 */
export async function transferLiveStep({ operationId }: OperationContext, moves: Move[]): Promise<TransferResult> {
  const { db } = fx();
  const { liveChunkActors, liveMovesInFlight } = workflowTimeouts();
  const queue = chunked(moves, liveChunkActors);
  const heldFromMs = Date.now();
  const holdMs: number[] = [];
  let moved = 0;
  let bytes = 0;
  let cancelledBy: string | null = null;
  let failure: unknown = null;
  let lastEvent = 0;
  let started = 0;
  const worker = async () => {
    for (let move = queue.shift(); move && !failure && !cancelledBy; move = queue.shift()) {
      cancelledBy = await cancelRequestedBy(operationId);
      if (cancelledBy) break;
      const index = ++started;
      try {
        // The chaos suite kills the worker (or a theater) between a move's migration and its record, and after both.
        const r = await moveActors(move, true, (phase) => faultPoint(operationId, index, phase, move));
        moved += r.moved;
        bytes += r.bytes;
        holdMs.push(...r.holdMs);
      } catch (e) {
        failure ??= e;
      }
      if (Date.now() - lastEvent > 100) {
        lastEvent = Date.now();
        await publishEvent(db, { type: "topology" });
      }
    }
  };
  await Promise.all(Array.from({ length: liveMovesInFlight }, worker));
  await publishEvent(db, { type: "topology" });
  if (failure) throw failure;
  if (cancelledBy) throw new AppError("CANCELLED", `cancelled by ${cancelledBy} during Transfer`, { by: cancelledBy });
  return { mode: "live", moved, bytes, hold: distribution(holdMs), heldFromMs, heldUntilMs: Date.now() };
}

/** Barrier transfer: the actors were all held by Ready; one move per (source, target), all resumed by Resume. */
export async function transferBarrierStep(
  { operationId }: OperationContext,
  moves: Move[],
  heldFromMs: number,
): Promise<TransferResult> {
  let moved = 0;
  let bytes = 0;
  const holdMs: number[] = [];
  for (const [i, m] of moves.entries()) {
    const r = await moveActors(m, false, (phase) => faultPoint(operationId, i + 1, phase, m));
    await publishEvent(fx().db, { type: "topology" });
    moved += r.moved;
    bytes += r.bytes;
    holdMs.push(...r.holdMs);
  }
  return { mode: "barrier", moved, bytes, hold: distribution(holdMs), heldFromMs, heldUntilMs: Date.now() };
}

/**
 * Undo of Transfer: what already moved goes back to its source (running there again, in a live
 * transfer). When the source's or the target's theater is lost, the actors cannot all be moved
 * back: they are recorded on their source again, where the application's recovery restores all
 * of them from the checkpoint taken before this Transfer (a consistent cut), once the operation
 * has ended `rolled_back` with the lost VM shown `lost`, never `running` with actors it lacks.
 */
export function moveBack(ctx: OperationContext, moves: Move[]): Compensation {
  return {
    what: "move the actors back to their source VMs",
    undo: async () => {
      for (const m of moves) {
        if ((await fx().theaterLost(m.from)) || (await fx().theaterLost(m.to))) {
          fx().log({
            operationId: ctx.operationId,
            event: "theater lost: actors recorded back on their source for recovery",
            from: m.from,
            to: m.to,
          });
          await actorMove(fx().db, m.uans, m.from);
          continue;
        }
        const where = await fx().locateActors(m.uans);
        const back = m.uans.filter((u) => where.get(u) === m.to);
        if (back.length > 0) await fx().migrateActors(back, m.to, m.from, { live: ctx.mode === "live" });
        await actorMove(fx().db, m.uans, m.from);
      }
      await publishEvent(fx().db, { type: "topology" });
    },
  };
}
