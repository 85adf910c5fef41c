/**
 * An application's actor communication as rates, from the theaters' lifetime counters of
 * messages sent per receiver (`sentTo`). Pure: the worker's sampler reads the counters and
 * stores what this returns; the console draws it.
 */

/** One actor's counters as a theater reported them. */
export interface ActorMessageCounts {
  uan: string;
  /** The VM whose theater reported it (where it runs now). */
  vmId: string;
  /** Messages sent since the counters began, by receiver UAN. */
  sentTo: Record<string, number>;
}

/** What the next sample is measured against: every actor's counters at one instant. */
export interface CommunicationReading {
  atMs: number;
  sentTo: Map<string, Record<string, number>>;
}

export interface CommunicationPair {
  from: string;
  to: string;
  perSecond: number;
}

/** A contiguous range of actor ordinals, so the matrix stays readable at 1,000 actors. */
export interface ActorGroup {
  first: number;
  last: number;
  actors: number;
}

export interface CommunicationSample {
  intervalMs: number;
  /** The application's VMs at the sample, with how many of its actors each runs. */
  vms: { vmId: string; actors: number }[];
  /** Messages per second between VMs (from = to: inside one VM); zero pairs left out. */
  vmPairs: CommunicationPair[];
  groups: ActorGroup[];
  /** Between actor groups, `from`/`to` the group's index in `groups`. */
  groupPairs: CommunicationPair[];
  totalPerSecond: number;
  /** Of `totalPerSecond`, what crossed from one VM to another. */
  crossVmPerSecond: number;
  /** Actors left out of this interval: first seen, or their counters went back (restored, respawned). */
  resetActors: number;
}

/** At most this many actor groups by default: a 16 × 16 matrix. */
export const DEFAULT_ACTOR_GROUPS = 16;

/** Contiguous ordinal ranges of about equal size, at most `maxGroups`, in ordinal order. */
export function actorGroups(
  ordinals: number[],
  maxGroups = DEFAULT_ACTOR_GROUPS,
): { groups: ActorGroup[]; groupOf: Map<number, number> } {
  const sorted = [...new Set(ordinals)].sort((a, b) => a - b);
  const size = Math.max(1, Math.ceil(sorted.length / Math.max(1, maxGroups)));
  const groups: ActorGroup[] = [];
  const groupOf = new Map<number, number>();
  sorted.forEach((ordinal, i) => {
    const g = Math.floor(i / size);
    const group = groups[g];
    if (group) {
      group.last = ordinal;
      group.actors++;
    } else groups.push({ first: ordinal, last: ordinal, actors: 1 });
    groupOf.set(ordinal, g);
  });
  return { groups, groupOf };
}

/** True when every counter of `now` is at least its value in `before` (no reset in between). */
function countersGrew(before: Record<string, number>, now: Record<string, number>): boolean {
  for (const [to, n] of Object.entries(before)) if ((now[to] ?? 0) < n) return false;
  return true;
}

function addTo(pairs: Map<string, CommunicationPair>, from: string, to: string, n: number): void {
  const key = `${from}\u0000${to}`;
  const pair = pairs.get(key);
  if (pair) pair.perSecond += n;
  else pairs.set(key, { from, to, perSecond: n });
}

function asRates(pairs: Map<string, CommunicationPair>, seconds: number): CommunicationPair[] {
  return [...pairs.values()]
    .filter((p) => p.perSecond > 0)
    .map((p) => ({ ...p, perSecond: p.perSecond / seconds }))
    .sort((a, b) =>
      a.from === b.from
        ? a.to.localeCompare(b.to, "en", { numeric: true })
        : a.from.localeCompare(b.from, "en", { numeric: true }),
    );
}

/**
 * The rates between `previous` and `current` of the application whose actors have `ordinals`
 * (UAN → ordinal; messages to anything else are not its communication). An actor with no
 * previous counters, or whose counters went back, is left out of this interval rather than
 * counted from zero or negative. Null when there is no previous reading or no time passed;
 * the returned reading is what the next call compares with.
 */
export function communicationRates(
  previous: CommunicationReading | undefined,
  current: { atMs: number; actors: ActorMessageCounts[] },
  ordinals: ReadonlyMap<string, number>,
  maxGroups = DEFAULT_ACTOR_GROUPS,
): { sample: CommunicationSample | null; reading: CommunicationReading } {
  const actors = current.actors.filter((a) => ordinals.has(a.uan));
  const reading: CommunicationReading = { atMs: current.atMs, sentTo: new Map(actors.map((a) => [a.uan, a.sentTo])) };
  const intervalMs = previous ? current.atMs - previous.atMs : 0;
  if (!previous || intervalMs <= 0) return { sample: null, reading };

  const vmOf = new Map(actors.map((a) => [a.uan, a.vmId]));
  const perVm = new Map<string, number>();
  for (const a of actors) perVm.set(a.vmId, (perVm.get(a.vmId) ?? 0) + 1);
  const { groups, groupOf } = actorGroups([...ordinals.values()], maxGroups);
  const groupOfUan = (uan: string) => groupOf.get(ordinals.get(uan)!)!;

  const vmPairs = new Map<string, CommunicationPair>();
  const groupPairs = new Map<string, CommunicationPair>();
  let total = 0;
  let cross = 0;
  let resetActors = 0;
  for (const a of actors) {
    const before = previous.sentTo.get(a.uan);
    if (!before || !countersGrew(before, a.sentTo)) {
      resetActors++;
      continue;
    }
    for (const [to, n] of Object.entries(a.sentTo)) {
      const toVm = vmOf.get(to);
      const sent = n - (before[to] ?? 0);
      if (toVm === undefined || sent <= 0) continue;
      total += sent;
      if (toVm !== a.vmId) cross += sent;
      addTo(vmPairs, a.vmId, toVm, sent);
      addTo(groupPairs, String(groupOfUan(a.uan)), String(groupOfUan(to)), sent);
    }
  }
  const seconds = intervalMs / 1000;
  return {
    reading,
    sample: {
      intervalMs,
      vms: [...perVm].map(([vmId, n]) => ({ vmId, actors: n })).sort((a, b) => a.vmId.localeCompare(b.vmId)),
      vmPairs: asRates(vmPairs, seconds),
      groups,
      groupPairs: asRates(groupPairs, seconds),
      totalPerSecond: total / seconds,
      crossVmPerSecond: cross / seconds,
      resetActors,
    },
  };
}
