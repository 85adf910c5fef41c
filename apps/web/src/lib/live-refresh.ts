import type { LiveEvent } from "@malleo/api";
import type { Topology } from "../trpc/types";

/**
 * Events arrive in bursts (a step start and end, several topology changes); collecting them
 * for a moment lets the UI refetch each query once per burst instead of once per event.
 * Operations that arrive with their new state are written into the cache at once instead
 * (see LiveEventsProvider) and need no refetch of their own.
 */
export interface PendingRefresh {
  topology: boolean;
  /** Actors moved: an open operation page's Transfer progress is read from where they are. */
  progress: boolean;
  /** Operations that changed without their new state in the event: refetched. */
  operations: Set<string>;
  /** Some operation changed: History, lists and the audit log may show it. */
  lists: boolean;
  iterations: Map<string, number>;
}

export function emptyRefresh(): PendingRefresh {
  return { topology: false, progress: false, operations: new Set(), lists: false, iterations: new Map() };
}

export function addEvent(pending: PendingRefresh, event: LiveEvent): void {
  switch (event.type) {
    case "topology":
      pending.topology = true;
      pending.progress = true;
      break;
    case "operation":
      if (!event.operation) pending.operations.add(event.operationId);
      pending.lists = true;
      // An operation's progress moves locks and VMs, which the topology shows.
      pending.topology = true;
      break;
    case "application":
      pending.iterations.set(event.applicationId, Math.max(event.iteration, pending.iterations.get(event.applicationId) ?? 0));
      break;
    case "actors":
      // Written into the cached topology as they arrive (withActorCounts): nothing to refetch.
      break;
  }
}

type VmActorCounts = Extract<LiveEvent, { type: "actors" }>["vms"][number];

/**
 * Applies the actor counts and ordinal ranges the database announced for some VMs to cached
 * topology data, without a refetch: a Transfer's batches show as they commit. Per-actor lists
 * of the changed VMs are kept until the next refetch (the page shows ranges from the counts while
 * the list and the count disagree). Identity is kept when nothing changes.
 */
export function withActorCounts(data: Topology, counts: readonly VmActorCounts[]): Topology {
  const byId = new Map(counts.map((c) => [c.id, c]));
  let delta = 0;
  const hosts = data.hosts.map((h) => {
    let hostChanged = false;
    const vms = h.vms.map((v) => {
      const c = byId.get(v.id);
      if (!c || (c.actorCount === v.actorCount && c.firstOrdinal === v.firstOrdinal && c.lastOrdinal === v.lastOrdinal)) return v;
      hostChanged = true;
      delta += c.actorCount - v.actorCount;
      return { ...v, actorCount: c.actorCount, firstOrdinal: c.firstOrdinal, lastOrdinal: c.lastOrdinal };
    });
    return hostChanged ? { ...h, vms } : h;
  });
  if (hosts.every((h, i) => h === data.hosts[i])) return data;
  return { ...data, hosts, totalActors: data.totalActors + delta };
}

export function isEmpty(pending: PendingRefresh): boolean {
  return (
    !pending.topology && !pending.progress && !pending.lists && pending.operations.size === 0 && pending.iterations.size === 0
  );
}

/** Applies iteration counters to cached topology data without a refetch; counters only rise. */
export function withIterations<T extends { applications: { id: string; iteration: number }[] }>(
  data: T,
  iterations: ReadonlyMap<string, number>,
): T {
  let changed = false;
  const applications = data.applications.map((a) => {
    const next = iterations.get(a.id);
    if (next === undefined || next <= a.iteration) return a;
    changed = true;
    return { ...a, iteration: next };
  });
  return changed ? { ...data, applications } : data;
}

/** Observed (time, iteration) pairs per application, from live events only. */
export type IterationSamples = Map<string, { t: number; v: number }[]>;

const RATE_WINDOW_MS = 10_000;
const STALL_MS = 3_000;

export function recordIteration(samples: IterationSamples, applicationId: string, iteration: number, t: number): void {
  const kept = (samples.get(applicationId) ?? []).filter((s) => t - s.t <= RATE_WINDOW_MS && s.v <= iteration);
  kept.push({ t, v: iteration });
  samples.set(applicationId, kept);
}

/**
 * Iterations per second over the recent window; 0 when no progress arrived for a while (the
 * worker publishes only changes), null until two observations exist.
 */
export function iterationRate(samples: IterationSamples, applicationId: string, now: number): number | null {
  const s = samples.get(applicationId) ?? [];
  const last = s.at(-1);
  if (!last) return null;
  if (now - last.t > STALL_MS) return 0;
  const first = s[0]!;
  if (s.length < 2 || last.t <= first.t) return null;
  return ((last.v - first.v) * 1000) / (last.t - first.t);
}
