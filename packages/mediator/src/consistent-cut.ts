import type { MigratedActor } from "@malleo/actors";

/**
 * Sequenced messages sent between these actors that none of them has received yet (neither in a
 * mailbox nor in a reorder buffer): on their way over a link, parked or being forwarded. A cut
 * with none is consistent — every message one actor's state counts as sent, another's holds.
 */
export function messagesInFlight(actors: readonly MigratedActor[]): number {
  const byUan = new Map(actors.map((a) => [a.uan, a]));
  let inFlight = 0;
  for (const sender of actors) {
    for (const [to, lastSent] of sender.sendSeq) {
      const receiver = byUan.get(to);
      if (!receiver) continue; // another application's actor: not part of this cut
      const base = receiver.seqBase ?? 0;
      const accepted = (receiver.recvNext.get(sender.uan) ?? base + 1) - 1;
      const waiting = receiver.reorder.get(sender.uan)?.size ?? 0;
      inFlight += lastSent - accepted - waiting;
    }
  }
  return inFlight;
}
