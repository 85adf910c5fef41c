import { deserialize } from "node:v8";
import {
  isCount,
  isHostedActorList,
  isNameList,
  isRecord,
  migratedActorProblem,
  parseUan,
  type ActorCounters,
  type CutReply,
  type MigratedActor,
  type SnapshotFetchReply,
  type SnapshotReply,
  type SpawnReply,
} from "@malleo/actors";
import { checkedReply, type MediatorRuntime } from "./mediator-runtime";

/**
 * Checkpoint requests: copies of actors as a migration would ship them (snapshot), an
 * application's actors dropped everywhere before a restore (discard), and actors installed from
 * a checkpoint (restore). The theaters' side is packages/actors/src/checkpoint.ts.
 */
export class Checkpoints {
  constructor(private readonly rt: MediatorRuntime) {}

  /**
   * Copies of actors of one VM as a migration would ship them (state, mailbox, delivery order
   * state), left running or held as they are. Take them held (awaitReady) for a consistent cut.
   */
  async snapshotActors(vmId: string, uans: string[]): Promise<SnapshotReply> {
    const record = this.rt.registry.connected(vmId);
    const asked = new Set(uans);
    // Each copy must be an actor we asked for, in the shape a restore installs (as a migration's).
    return checkedReply<SnapshotReply>(
      this.rt,
      record,
      "snapshot",
      await record.channel.request({ type: "snapshot", uans }, this.rt.requestTimeoutMs),
      (r) =>
        isRecord(r) &&
        Array.isArray(r.actors) &&
        r.actors.every((actor) => migratedActorProblem(actor) === null && asked.has((actor as MigratedActor).uan)) &&
        isNameList(r.missing) &&
        isNameList(r.held),
    );
  }

  /**
   * The delivery counters of actors of one VM (for a consistent cut); with `keep`, the theater
   * also copies them at once and keeps the copy under that token for `fetchKept`, so the
   * actors can be resumed before the copy travels.
   */
  async cutActors(vmId: string, uans: string[], keep?: string): Promise<CutReply> {
    const record = this.rt.registry.connected(vmId);
    const asked = new Set(uans);
    const request = keep === undefined ? { type: "cut", uans } : { type: "cut", uans, keep };
    return checkedReply<CutReply>(
      this.rt,
      record,
      "cut",
      await record.channel.request(request, this.rt.requestTimeoutMs),
      (r) =>
        isRecord(r) &&
        Array.isArray(r.counters) &&
        r.counters.every((c) => isCounters(c) && asked.has(c.uan)) &&
        isNameList(r.missing) &&
        isNameList(r.held) &&
        typeof r.kept === "boolean",
    );
  }

  /** The copy a `cutActors` with `keep` took on that VM; each must be an actor asked for, in the shape a restore installs. */
  async fetchKept(vmId: string, token: string, uans: string[]): Promise<MigratedActor[]> {
    const record = this.rt.registry.connected(vmId);
    const asked = new Set(uans);
    const reply = checkedReply<SnapshotFetchReply>(
      this.rt,
      record,
      "snapshot-fetch",
      await record.channel.request({ type: "snapshot-fetch", token }, this.rt.requestTimeoutMs),
      (r) => isRecord(r) && r.data instanceof Uint8Array,
    );
    let actors: unknown;
    try {
      actors = deserialize(reply.data);
    } catch (e) {
      throw new Error(`the snapshot kept on VM ${vmId} does not decode: ${(e as Error).message}`);
    }
    if (!Array.isArray(actors)) throw new Error(`the snapshot kept on VM ${vmId} is not a list of actors`);
    for (const actor of actors) {
      const problem = migratedActorProblem(actor);
      if (problem) throw new Error(`the snapshot kept on VM ${vmId} is malformed: ${problem}`);
      if (!asked.has((actor as MigratedActor).uan))
        throw new Error(`the snapshot kept on VM ${vmId} holds ${(actor as MigratedActor).uan}, which was not asked for`);
    }
    return actors as MigratedActor[];
  }

  /**
   * Drops actors wherever they are (a theater that hosts one deletes it; every theater forgets
   * messages parked for them) and from the directory: their application is about to be restored.
   */
  async discardActors(uans: string[]): Promise<void> {
    const gone = new Set(uans);
    await Promise.all(
      this.rt.registry
        .records()
        .filter((record) => record.channel.isOpen)
        .map(async (record) =>
          checkedReply(
            this.rt,
            record,
            "discard",
            await record.channel.request({ type: "discard", uans }, this.rt.requestTimeoutMs),
            (r) => isRecord(r) && isCount(r.discarded),
          ),
        ),
    );
    for (const uan of gone) this.rt.directory.delete(uan);
    this.rt.log("info", "actors discarded", { count: gone.size });
  }

  /** Installs actors from a checkpoint on one VM, running (`seqBase`: see the theater's restore). */
  async restoreActors(vmId: string, actors: MigratedActor[], seqBase: number): Promise<void> {
    const { registry, directory } = this.rt;
    const record = registry.connected(vmId);
    for (const actor of actors) {
      parseUan(actor.uan);
      if (directory.has(actor.uan)) throw new Error(`actor ${actor.uan} already exists`);
    }
    for (const actor of actors) directory.recordActor({ uan: actor.uan, behavior: actor.behavior }, vmId);
    try {
      const restoring = new Set(actors.map((actor) => actor.uan));
      const reply = checkedReply<SpawnReply>(
        this.rt,
        record,
        "restore",
        await record.channel.request({ type: "restore", actors, seqBase }, this.rt.requestTimeoutMs),
        (r) => isRecord(r) && isHostedActorList(r.actors) && r.actors.every((actor) => restoring.has(actor.uan)),
      );
      for (const actor of reply.actors) directory.recordActor(actor, vmId);
    } catch (error) {
      for (const actor of actors) directory.delete(actor.uan);
      throw new Error(`restoring ${actors.length} actors on VM ${vmId} failed: ${(error as Error).message}`);
    }
    this.rt.log("info", "actors restored", { vmId, count: actors.length });
    await directory.pushDirectory(actors.map((actor) => ({ uan: actor.uan, address: record.info.address })));
  }
}

const isCountMap = (value: unknown): value is Map<string, number> =>
  value instanceof Map && [...value].every(([k, v]) => typeof k === "string" && isCount(v));

function isCounters(value: unknown): value is ActorCounters {
  return (
    isRecord(value) &&
    typeof value.uan === "string" &&
    isCountMap(value.sendSeq) &&
    isCountMap(value.recvNext) &&
    isCountMap(value.waiting) &&
    (value.seqBase === undefined || isCount(value.seqBase))
  );
}
