import {
  isHostedActorList,
  isName,
  isRecord,
  parseUan,
  type ActorSpec,
  type DirectoryEntry,
  type HostedActor,
  type SpawnReply,
} from "@malleo/actors";
import { checkedReply, type ActorInfo, type MediatorRuntime } from "./mediator-runtime";

const DIRECTORY_ACK_TIMEOUT_MS = 10_000;

/**
 * The actor directory: which VM each actor (UAN) lives on, kept by the Mediator and pushed to
 * every theater when it changes; theaters ask it (`resolve`) for an actor they cannot locate.
 * Spawning records the new actors here first, so their first messages resolve.
 */
export class ActorDirectory {
  private readonly entries = new Map<string, ActorInfo>();

  constructor(private readonly rt: MediatorRuntime) {}

  get(uan: string): ActorInfo | undefined {
    return this.entries.get(uan);
  }

  has(uan: string): boolean {
    return this.entries.has(uan);
  }

  delete(uan: string): void {
    this.entries.delete(uan);
  }

  recordActor(actor: HostedActor, vmId: string): void {
    const existing = this.entries.get(actor.uan);
    this.entries.set(actor.uan, {
      uan: actor.uan,
      vmId,
      behavior: actor.behavior,
      stateBytes: actor.stateBytes ?? existing?.stateBytes,
    });
  }

  /** The actors move to `vmId` (already there: a migration's target committed them). */
  moveTo(uans: string[], vmId: string): void {
    for (const uan of uans) {
      const entry = this.entries.get(uan);
      if (entry) entry.vmId = vmId;
    }
  }

  listActors(vmId?: string): ActorInfo[] {
    const actors = [...this.entries.values()].filter((actor) => vmId === undefined || actor.vmId === vmId);
    return actors.map((actor) => ({ ...actor })).sort((a, b) => a.uan.localeCompare(b.uan));
  }

  /** A theater's `resolve`: the address of the theater an actor lives on, or null. */
  resolve(uan: unknown): { address: string | null } | null {
    if (!isName(uan)) return null;
    const entry = this.entries.get(uan);
    return { address: entry ? (this.rt.registry.record(entry.vmId)?.info.address ?? null) : null };
  }

  /** Tells every theater where these actors live now; resolves when all connected theaters acknowledged. */
  async pushDirectory(entries: DirectoryEntry[]): Promise<void> {
    const results = await Promise.allSettled(
      this.rt.registry
        .records()
        .map((record) => record.channel.request({ type: "directory", entries }, DIRECTORY_ACK_TIMEOUT_MS)),
    );
    const failures = results.filter((result) => result.status === "rejected").length;
    if (failures > 0) this.rt.log("warn", "some theaters did not acknowledge a directory update", { failures });
  }

  async spawnActors(vmId: string, specs: ActorSpec[]): Promise<void> {
    const rt = this.rt;
    const record = rt.registry.connected(vmId);
    const batch = new Set<string>();
    for (const spec of specs) {
      parseUan(spec.uan);
      if (this.entries.has(spec.uan) || batch.has(spec.uan)) throw new Error(`actor ${spec.uan} already exists`);
      batch.add(spec.uan);
    }
    // Listed before the theater creates them, so the first messages between them resolve.
    for (const spec of specs) this.recordActor({ uan: spec.uan, behavior: spec.behavior }, vmId);
    try {
      const reply = checkedReply<SpawnReply>(
        rt,
        record,
        "spawn",
        await record.channel.request({ type: "spawn", specs }, rt.requestTimeoutMs),
        (r) => isRecord(r) && isHostedActorList(r.actors) && r.actors.every((actor) => batch.has(actor.uan)),
      );
      for (const actor of reply.actors) this.recordActor(actor, vmId);
    } catch (error) {
      for (const spec of specs) this.entries.delete(spec.uan);
      throw new Error(`spawning ${specs.length} actors on VM ${vmId} failed: ${(error as Error).message}`);
    }
    rt.log("info", "actors spawned", { vmId, count: specs.length });
    void this.pushDirectory(specs.map((spec) => ({ uan: spec.uan, address: record.info.address })));
  }
}
