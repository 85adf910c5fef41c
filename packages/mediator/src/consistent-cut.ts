import { countersOf, type ActorCounters, type MigratedActor } from "@malleo/actors";

/** Messages one actor sent another that the receiver has not received yet. */
export interface InFlightPair {
  from: string;
  to: string;
  /** Sequence numbers sent and not received: `lastSent - accepted - waiting`. */
  count: number;
  lastSent: number;
  /** The last sequence number the receiver took in order. */
  accepted: number;
  /** Later ones it holds out of order, waiting for the gap to fill. */
  waiting: number;
}

/**
 * Sequenced messages sent between these actors that none of them has received yet (neither in a
 * mailbox nor in a reorder buffer): on their way over a link, parked or being forwarded, pair by
 * pair. A cut with none is consistent — every message one actor's state counts as sent, another's holds.
 */
export function inFlightPairs(actors: readonly ActorCounters[]): InFlightPair[] {
  const byUan = new Map(actors.map((a) => [a.uan, a]));
  const pairs: InFlightPair[] = [];
  for (const sender of actors) {
    for (const [to, lastSent] of sender.sendSeq) {
      const receiver = byUan.get(to);
      if (!receiver) continue; // another application's actor: not part of this cut
      const base = receiver.seqBase ?? 0;
      const accepted = (receiver.recvNext.get(sender.uan) ?? base + 1) - 1;
      const waiting = receiver.waiting.get(sender.uan) ?? 0;
      const count = lastSent - accepted - waiting;
      if (count !== 0) pairs.push({ from: sender.uan, to, count, lastSent, accepted, waiting });
    }
  }
  return pairs;
}

export function messagesInFlight(actors: readonly MigratedActor[]): number {
  return inFlightPairs(actors.map(countersOf)).reduce((sum, p) => sum + p.count, 0);
}

/** "a → b: 2 (sent up to 41, taken up to 39, 0 waiting)", the first few, for an error or a log. */
export function describeInFlight(pairs: readonly InFlightPair[], max = 3): string {
  const shown = pairs
    .slice(0, max)
    .map((p) => `${p.from} → ${p.to}: ${p.count} (sent up to ${p.lastSent}, taken up to ${p.accepted}, ${p.waiting} waiting)`);
  return pairs.length > max ? `${shown.join("; ")}; and ${pairs.length - max} more pairs` : shown.join("; ");
}
