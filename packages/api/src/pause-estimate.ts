import type { TransferMode } from "@malleo/core";
import { z } from "zod";

/**
 * What past operations measured (`operations.estimates`): the basis of the plan preview's pause
 * estimate. Declared once, here (the browser imports this file): the API's output schema, the
 * server's summary (`estimates.ts`) and the dialogs all use it.
 */
export const migrationEstimatesOutput = z.object({
  /** Operations the figures come from. */
  samples: z.number().int(),
  /** Mean measured duration of each step that succeeded, in ms. */
  meanStepMs: z.record(z.string(), z.number()),
  /** Transfer throughput over every measured transfer. */
  bytesPerSecond: z.number().nullable(),
  actorsPerSecond: z.number().nullable(),
  /** Mean serialized size of an actor (state + mailbox) when it moved. */
  bytesPerActor: z.number().nullable(),
});
export type MigrationEstimates = z.infer<typeof migrationEstimatesOutput>;

/** The fields the pause estimate uses. */
export type PauseBasis = Omit<MigrationEstimates, "meanStepMs">;

/**
 * The fixed part of one actor's pause in a live transfer, on top of moving its bytes: holding it
 * at its safe point, the target's acknowledgement and the commit (a few round trips on one
 * connection).
 */
export const LIVE_MOVE_OVERHEAD_MS = 5;

export interface PauseEstimate {
  mode: TransferMode;
  /** How long an actor holds still, in ms. */
  pauseMs: number;
  /** live: each actor for its own move; barrier: every actor together, for the whole transfer. */
  scope: "each actor" | "all actors";
}

/** ms to move `actors` actors at the measured speed (bytes when measured, else actors per second); null unmeasured. */
function moveMs(e: PauseBasis, actors: number): number | null {
  if (e.bytesPerSecond && e.bytesPerActor) return ((actors * e.bytesPerActor) / e.bytesPerSecond) * 1000;
  if (e.actorsPerSecond) return (actors / e.actorsPerSecond) * 1000;
  return null;
}

/**
 * How long the application holds still in each transfer mode, from the speed past operations
 * measured. Targets are provisioned before anything is held, so neither includes provision time.
 * - live: each actor pauses only while it moves: one actor's bytes at the measured speed, plus
 *   LIVE_MOVE_OVERHEAD_MS; the others keep running meanwhile.
 * - barrier: every actor pauses together for the whole transfer: all `actors` at that speed.
 * Null before any operation has measured a transfer.
 */
export function expectedPause(e: PauseBasis | undefined, actors: number, mode: TransferMode): PauseEstimate | null {
  if (!e || e.samples === 0) return null;
  if (mode === "live") {
    const one = moveMs(e, 1);
    return one === null ? null : { mode, pauseMs: one + LIVE_MOVE_OVERHEAD_MS, scope: "each actor" };
  }
  const all = moveMs(e, actors);
  return all === null ? null : { mode, pauseMs: all, scope: "all actors" };
}
