import type { ActorCounters, MigratedActor } from "./protocol";

/** An actor's delivery counters, for a consistent cut: what a theater's `cut` reports, from a cell or a snapshot's copy. */
export function countersOf(actor: Pick<MigratedActor, "uan" | "sendSeq" | "recvNext" | "reorder" | "seqBase">): ActorCounters {
  return {
    uan: actor.uan,
    sendSeq: actor.sendSeq,
    recvNext: actor.recvNext,
    waiting: new Map([...actor.reorder].map(([peer, waiting]) => [peer, waiting.size])),
    seqBase: actor.seqBase,
  };
}
