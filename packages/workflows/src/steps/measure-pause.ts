import { longestIdleMs, normalGapMs, type ActivityBits, type ApplicationPause } from "@malleo/core";
import { fx, sleep } from "../runtime";
import type { OperationContext } from "./context";

/** How long after the last hold the application is watched for its first progress. */
const SETTLE_MS = 250;
/** The stretch before the operation that gives the application's normal gap between progress. */
const BASELINE_MS = 1000;

export interface PauseWindow {
  /** When the operation started running: its normal gap is measured over the second before. */
  startedMs: number;
  /** When the first actor was asked to hold, and when the last ran again. */
  heldFromMs: number;
  heldUntilMs: number;
}

/** Activity windows as a DBOS step can record them (bits base64). */
export interface RecordedActivity {
  startMs: number;
  length: number;
  bits: string;
}

function toRecorded(w: ActivityBits): RecordedActivity {
  return { startMs: w.startMs, length: w.length, bits: Buffer.from(w.bits).toString("base64") };
}
function fromRecorded(w: RecordedActivity): ActivityBits {
  return { startMs: w.startMs, length: w.length, bits: new Uint8Array(Buffer.from(w.bits, "base64")) };
}

async function activityOf(vmIds: string[], fromMs: number, toMs: number): Promise<ActivityBits[] | null> {
  const activity = fx().applicationActivity;
  if (!activity) return null;
  try {
    return await activity(vmIds, fromMs, toMs);
  } catch (e) {
    fx().log({ event: "application activity not read", error: (e as Error).message });
    return null;
  }
}

/**
 * The sources' activity, read as soon as the last actor ran again: Clean up destroys them, and
 * after the switch-over they hold no actors, so nothing later is missed.
 */
export async function sourceActivity({ plan }: OperationContext, w: PauseWindow): Promise<RecordedActivity[] | null> {
  const windows = await activityOf(
    plan.sources.map((s) => s.id),
    w.startedMs - BASELINE_MS,
    Math.max(Date.now(), w.heldUntilMs),
  );
  return windows && windows.map(toRecorded);
}

/**
 * The application's pause over the hold window: the longest stretch in which none of its
 * theaters (sources and targets) made progress, less its normal gap in the second before the
 * operation started (before Provision, whose boots compete for CPU on a shared host). The
 * targets are watched until SETTLE_MS past the last hold (usually already past, after Clean up),
 * so a slow restart counts. Null when the worker cannot ask the theaters, or the application was
 * not progressing before.
 */
export async function measureApplicationPause(
  { plan }: OperationContext,
  w: PauseWindow,
  sources: RecordedActivity[] | null,
): Promise<ApplicationPause | null> {
  if (!sources) return null;
  const end = w.heldUntilMs + SETTLE_MS;
  if (Date.now() < end) await sleep(end - Date.now());
  const targets = await activityOf(
    plan.targets.map((t) => t.id),
    w.startedMs - BASELINE_MS,
    end,
  );
  if (!targets) return null;
  const windows = [...sources.map(fromRecorded), ...targets];
  if (windows.length === 0) return null;
  // The normal gap is the second before the operation started; the pause is measured over the holds.
  const gap = normalGapMs(windows, w.startedMs, BASELINE_MS);
  if (gap === null) return null;
  const idleMs = longestIdleMs(windows, w.heldFromMs, end);
  return { pauseMs: Math.max(0, idleMs - gap), idleMs, normalGapMs: gap };
}
