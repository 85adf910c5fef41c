import type { MigratedActor, SnapshotReply, SpawnReply } from "@malleo/actors";
import { parseUan } from "@malleo/actors";
import type { MediatorRuntime } from "./mediator-runtime";

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
    return this.rt.registry.connected(vmId).channel.request<SnapshotReply>({ type: "snapshot", uans }, this.rt.requestTimeoutMs);
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
        .map((record) => record.channel.request({ type: "discard", uans }, this.rt.requestTimeoutMs)),
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
      const reply = await record.channel.request<SpawnReply>({ type: "restore", actors, seqBase }, this.rt.requestTimeoutMs);
      for (const actor of reply.actors) directory.recordActor(actor, vmId);
    } catch (error) {
      for (const actor of actors) directory.delete(actor.uan);
      throw new Error(`restoring ${actors.length} actors on VM ${vmId} failed: ${(error as Error).message}`);
    }
    this.rt.log("info", "actors restored", { vmId, count: actors.length });
    await directory.pushDirectory(actors.map((actor) => ({ uan: actor.uan, address: record.info.address })));
  }
}
