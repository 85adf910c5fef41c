import {
  ChannelClosedError,
  isCount,
  isHostedActorList,
  isNameList,
  isRecord,
  type MigrateOutReply,
  type MigrateSettleReply,
} from "@malleo/actors";
import { checkedReply, type MediatorRuntime } from "./mediator-runtime";

/**
 * The migration coordinator: what the Mediator does to move actors between theaters. It asks
 * the source to ship them (`migrate-out`), records where they landed and pushes the directory;
 * when the source vanishes or a commit's answer is lost it asks the target what it holds
 * (`migrate-settle`) and tells the source (`migrate-finish`). The theaters' side is
 * packages/actors/src/migration.ts.
 */
export class MigrationCoordinator {
  private readonly migrating = new Set<string>();

  constructor(private readonly rt: MediatorRuntime) {}

  /** Whether the actor is being migrated now (its progress counts wherever it runs). */
  isMigrating(uan: string): boolean {
    return this.migrating.has(uan);
  }

  /**
   * Moves actors (held at their safe point, or held on the way) from one theater to another.
   * Resolves after the target acknowledged and every theater acknowledged the new locations.
   * The actors arrive held: call `resume` on the target. On failure they stay on the source, held.
   */
  async migrate(
    uans: string[],
    fromVmId: string,
    toVmId: string,
    options: { resumeOnArrival?: boolean } = {},
  ): Promise<{ moved: number; bytes: number; holdMs: number[] }> {
    if (uans.length === 0) return { moved: 0, bytes: 0, holdMs: [] };
    const live = options.resumeOnArrival === true;
    /** A live transfer leaves no actor held, wherever a failure left it. */
    const runWhereTheyAre = async (at: string, which: string[]) => {
      if (!live || which.length === 0) return;
      await this.rt.ready
        .resume(at, which)
        .catch((error: Error) =>
          this.rt.log("warn", "could not resume actors after a live migration", { vmId: at, error: error.message }),
        );
    };
    if (fromVmId === toVmId) throw new Error(`cannot migrate from VM ${fromVmId} to itself`);
    const source = this.rt.registry.connected(fromVmId);
    const target = this.rt.registry.connected(toVmId);
    for (const uan of uans) {
      const entry = this.rt.directory.get(uan);
      if (!entry) throw new Error(`unknown actor ${uan}`);
      if (entry.vmId !== fromVmId) throw new Error(`actor ${uan} lives on VM ${entry.vmId}, not ${fromVmId}`);
      if (this.migrating.has(uan)) throw new Error(`actor ${uan} is already being migrated`);
    }
    if (new Set(uans).size !== uans.length) throw new Error("an actor is listed twice");
    for (const uan of uans) this.migrating.add(uan);
    const startedAt = performance.now();
    const fail = (error: Error): never => {
      this.rt.log("warn", "migration failed", { from: fromVmId, to: toVmId, actors: uans.length, error: error.message });
      throw new Error(`migrating ${uans.length} actors from VM ${fromVmId} to VM ${toVmId} failed: ${error.message}`);
    };
    try {
      const migrationTimeoutMs = this.rt.options.migrationTimeoutMs ?? 60_000;
      let reply: MigrateOutReply;
      try {
        const raw = await source.channel.request(
          { type: "migrate-out", uans, targetAddress: target.info.address, timeoutMs: migrationTimeoutMs, resumeOnArrival: live },
          // The source waits for two target acknowledgements and for its actors' safe points.
          2 * migrationTimeoutMs + 15_000,
        );
        if (!isMigrateOutReply(raw)) {
          this.rt.dropLink(source.channel, "malformed migrate-out reply");
          // Nothing was recorded; the source answered, so it is alive and keeps its actors.
          await this.settleTarget(toVmId, uans, true);
          return fail(new Error(`the source sent a malformed migrate-out reply`));
        }
        reply = raw;
      } catch (error) {
        // A source that answered is alive and kept its actors; one that vanished may have died
        // after the target acknowledged, leaving the target's copies as the only ones.
        const sourceGone = error instanceof ChannelClosedError && !(await this.comesBack(fromVmId));
        const settled = await this.settleTarget(toVmId, uans, !sourceGone);
        if (sourceGone && settled) {
          const landed = [...settled.committed, ...settled.adopted];
          await this.recordMoved(landed, toVmId);
          await runWhereTheyAre(toVmId, landed);
          if (landed.length === uans.length) {
            this.rt.log("warn", "source lost after the target acknowledged; the target adopted the actors", {
              from: fromVmId,
              to: toVmId,
              actors: landed.length,
            });
            return { moved: landed.length, bytes: 0, holdMs: [] };
          }
          const lost = uans.filter((uan) => !landed.includes(uan));
          return fail(new Error(`the source was lost with ${lost.length} actors (${lost.slice(0, 3).join(", ")})`));
        }
        return fail(error as Error);
      }
      if (reply.inDoubt) {
        // The commit went out but its answer did not come back: the target knows what happened.
        const settled = await this.settleTarget(toVmId, uans, true);
        const committed = settled?.committed ?? [];
        await this.rt.registry
          .connected(fromVmId)
          .channel.request({ type: "migrate-finish", uans, committed }, this.rt.requestTimeoutMs);
        await this.recordMoved(committed, toVmId);
        await runWhereTheyAre(toVmId, committed);
        await runWhereTheyAre(
          fromVmId,
          uans.filter((uan) => !committed.includes(uan)),
        );
        if (committed.length !== uans.length)
          return fail(new Error(`the commit was lost; ${uans.length - committed.length} actors stay on the source`));
        return { moved: committed.length, bytes: reply.bytes, holdMs: [] };
      }
      for (const actor of reply.actors) this.rt.directory.recordActor(actor, toVmId);
      await this.rt.directory.pushDirectory(uans.map((uan) => ({ uan, address: target.info.address })));
      this.rt.log("info", "actors migrated", {
        from: fromVmId,
        to: toVmId,
        actors: reply.moved,
        bytes: reply.bytes,
        ms: Math.round(performance.now() - startedAt),
      });
      return { moved: reply.moved, bytes: reply.bytes, holdMs: reply.holdMs ?? [] };
    } finally {
      for (const uan of uans) this.migrating.delete(uan);
    }
  }

  /** Whether a theater that dropped its connection registers again within the grace period. */
  private async comesBack(vmId: string): Promise<boolean> {
    try {
      await this.rt.registry.awaitTheater(vmId, this.rt.options.sourceLossGraceMs ?? 5_000);
      return true;
    } catch {
      return false;
    }
  }

  /** Asks the target of a failed migration to keep, adopt or discard what it received. */
  private async settleTarget(vmId: string, uans: string[], sourceAlive: boolean): Promise<MigrateSettleReply | null> {
    const record = this.rt.registry.record(vmId);
    if (!record?.channel.isOpen) return null;
    try {
      const asked = new Set(uans);
      return checkedReply<MigrateSettleReply>(
        this.rt,
        record,
        "migrate-settle",
        await record.channel.request({ type: "migrate-settle", uans, sourceAlive }, this.rt.requestTimeoutMs),
        (r) =>
          isRecord(r) &&
          [r.committed, r.adopted, r.discarded].every((list) => isNameList(list) && list.every((uan) => asked.has(uan))),
      );
    } catch (error) {
      this.rt.log("warn", "could not settle a failed migration with its target", { vmId, error: (error as Error).message });
      return null;
    }
  }

  private async recordMoved(uans: string[], toVmId: string): Promise<void> {
    if (uans.length === 0) return;
    const address = this.rt.registry.record(toVmId)?.info.address;
    this.rt.directory.moveTo(uans, toVmId);
    if (address) await this.rt.directory.pushDirectory(uans.map((uan) => ({ uan, address })));
  }
}

function isMigrateOutReply(value: unknown): value is MigrateOutReply {
  return (
    isRecord(value) &&
    isCount(value.moved) &&
    isCount(value.bytes) &&
    isHostedActorList(value.actors) &&
    (value.holdMs === undefined ||
      (Array.isArray(value.holdMs) && value.holdMs.every((ms) => typeof ms === "number" && Number.isFinite(ms)))) &&
    (value.inDoubt === undefined || typeof value.inDoubt === "boolean")
  );
}
