import { applicationPause, longestIdleMs, type ApplicationPause } from "@malleo/core";
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

/**
 * The application's pause over the hold window: the longest stretch in which none of its
 * theaters (sources and targets) made progress, less its normal gap in the second before the
 * operation started (before Provision, whose boots compete for CPU on a shared host). Watched
 * until SETTLE_MS past the last hold, so a slow restart counts. Null when the worker cannot ask
 * the theaters, or the application was not progressing before.
 */
export async function measureApplicationPause({ plan }: OperationContext, w: PauseWindow): Promise<ApplicationPause | null> {
  const activity = fx().applicationActivity;
  if (!activity) return null;
  const end = w.heldUntilMs + SETTLE_MS;
  if (Date.now() < end) await sleep(end - Date.now());
  const vmIds = [...plan.sources.map((s) => s.id), ...plan.targets.map((t) => t.id)];
  try {
    const windows = await activity(vmIds, w.startedMs - BASELINE_MS, end);
    if (windows.length === 0) return null;
    const normal = applicationPause(windows, w.startedMs, w.startedMs, BASELINE_MS);
    if (!normal) return null;
    const idleMs = longestIdleMs(windows, w.heldFromMs, end);
    return { pauseMs: Math.max(0, idleMs - normal.normalGapMs), idleMs, normalGapMs: normal.normalGapMs };
  } catch (e) {
    fx().log({ event: "application pause not measured", error: (e as Error).message });
    return null;
  }
}
