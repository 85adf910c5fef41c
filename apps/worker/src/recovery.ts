import {
  actorListByVms,
  applicationClearRestoreRequest,
  applicationListRestoreRequests,
  applicationGet,
  applicationList,
  applicationSetHealth,
  auditAppend,
  checkpointLatest,
  publishEvent,
  vmGet,
  vmListLost,
  vmMarkLost,
  vmMarkRecovered,
  vmListByApplication,
  vmRehost,
  type Db,
  type Vm,
} from "@malleo/db";
import type { MigratedActor } from "@malleo/actors";
import { AppError } from "@malleo/core";
import { isHypervisorError } from "@malleo/hypervisor";
import type { Mediator } from "@malleo/mediator";
import type { ApplicationRunner } from "./applications";
import type { Checkpointer } from "./checkpoints";
import type { Logger } from "./log";
import type { VmManager } from "./vm-manager";

/** An operator's request to restore from one checkpoint (applications.restore). */
interface ManualRestore {
  sequence: number;
  by: string;
}

/** The audit log's actor for what the worker itself records. */
const WORKER_ACTOR = "worker";

/**
 * Theater loss and recovery. A theater whose connection closes (its process died, its guest
 * crashed, its host went away, or it missed the Mediator's heartbeat) has `graceMs` to
 * re-register; then its VM is `lost`, its application `degraded`, and an audit record says what
 * was lost and from which checkpoint it can come back. With `recover` the VM is then booted
 * afresh (domain destroyed and created again, new theater) and the whole application restored from its last checkpoint (heat needs a
 * consistent cut, so the surviving actors go back to it too), once no operation holds its VMs.
 */
export class Recovery {
  private unsubscribe: (() => void) | undefined;
  private readonly noticing = new Map<string, Promise<void>>();
  private readonly recovering = new Map<string, Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private polling = false;
  private stopped = false;

  constructor(
    private readonly db: Db,
    private readonly mediator: Mediator,
    private readonly vms: VmManager,
    private readonly checkpoints: Checkpointer,
    private readonly apps: ApplicationRunner,
    private readonly opts: { graceMs: number; recover: boolean; log: Logger; retryMs?: number; pollMs?: number },
  ) {}

  /**
   * Listens for lost theaters, recovers what an earlier worker left lost or degraded, and every
   * second serves operators' restore requests and picks up an application whose automatic
   * recovery was turned back on while it was degraded.
   */
  async start(): Promise<void> {
    this.unsubscribe = this.mediator.onTheaterLost((vmId) => void this.theaterLost(vmId));
    await this.poll();
    this.timer = setInterval(() => void this.poll(), this.opts.pollMs ?? 1_000);
    this.timer.unref();
  }

  private async poll(): Promise<void> {
    if (this.polling || this.stopped) return;
    this.polling = true;
    try {
      for (const r of await applicationListRestoreRequests(this.db)) {
        if (this.recovering.has(r.id) || r.restoreRequestedSequence === null) continue;
        void this.scheduleRecovery(r.id, { sequence: r.restoreRequestedSequence, by: r.restoreRequestedBy ?? "operator" });
      }
      if (!this.opts.recover) return;
      for (const app of await applicationList(this.db)) {
        if (!app.autoRecovery || this.recovering.has(app.id)) continue;
        if (app.status === "degraded" || (await vmListLost(this.db, app.id)).length > 0) void this.scheduleRecovery(app.id);
      }
    } catch (e) {
      this.opts.log({ event: "recovery poll failed", error: (e as Error).message });
    } finally {
      this.polling = false;
    }
  }

  /**
   * A theater dropped its connection: lost unless it re-registers within the grace period.
   * Also called by reconciliation for a running VM that has no registered theater.
   */
  async theaterLost(vmId: string): Promise<void> {
    if (this.noticing.has(vmId) || this.stopped) return;
    const noticed = this.noticeLoss(vmId);
    this.noticing.set(vmId, noticed);
    await noticed;
  }

  /**
   * For an operation that meets a VM whose theater is gone: waits out the grace period (or the
   * loss already being noticed) and answers whether the VM is now `lost` — its application
   * degraded and its recovery scheduled, to run once the operation lets go of its VMs.
   */
  async confirmLost(vmId: string): Promise<boolean> {
    if (this.mediator.theater(vmId)) return false;
    const vm = await vmGet(this.db, vmId);
    if (!vm || vm.state === "deleted") return false;
    if (vm.state !== "lost") await (this.noticing.get(vmId) ?? this.theaterLost(vmId));
    return (await vmGet(this.db, vmId))?.state === "lost";
  }

  private async noticeLoss(vmId: string): Promise<void> {
    try {
      try {
        await this.mediator.awaitTheater(vmId, this.opts.graceMs);
        this.opts.log({ event: "theater came back within the grace period", vmId });
        return;
      } catch {
        // not back: lost
      }
      if (this.stopped) return;
      const vm = await vmGet(this.db, vmId);
      if (!vm || vm.state !== "running") return; // being created or removed by an operation: its steps fail it
      const actors = await actorListByVms(this.db, [vmId]);
      const checkpoint = await checkpointLatest(this.db, vm.applicationId);
      if (!(await vmMarkLost(this.db, vmId))) return;
      // Lost means gone: a theater that turns up later (a hung guest resuming) is refused, not adopted.
      await this.mediator.stopTheater(vmId, { force: true });
      this.vms.killTheater(vmId);
      const from = checkpoint
        ? `checkpoint #${checkpoint.sequence} (iteration ${checkpoint.iteration}, taken ${checkpoint.takenAt.toISOString()})`
        : "no checkpoint: it restarts from the beginning";
      const reason = `VM ${vm.name} lost: its theater stopped answering with ${actors.length} actors; recoverable from ${from}`;
      await applicationSetHealth(this.db, vm.applicationId, "degraded", reason);
      await auditAppend(this.db, {
        actor: WORKER_ACTOR,
        procedure: "theater.lost",
        input: {
          vmId,
          vm: vm.name,
          hostId: vm.hostId,
          applicationId: vm.applicationId,
          actors: actors.length,
          checkpoint: checkpoint
            ? { sequence: checkpoint.sequence, iteration: checkpoint.iteration, takenAt: checkpoint.takenAt.toISOString() }
            : null,
        },
        ok: false,
        error: reason,
      });
      await publishEvent(this.db, { type: "topology" });
      const app = await applicationGet(this.db, vm.applicationId);
      if (app) await publishEvent(this.db, { type: "application", applicationId: app.id, iteration: app.iteration });
      this.opts.log({
        event: "theater lost",
        vmId,
        vm: vm.name,
        application: vm.applicationId,
        actors: actors.length,
        checkpoint: checkpoint?.sequence ?? null,
      });
      if (this.opts.recover && app?.autoRecovery !== false) void this.scheduleRecovery(vm.applicationId);
    } catch (e) {
      this.opts.log({ event: "theater loss not recorded", vmId, error: (e as Error).message });
    } finally {
      this.noticing.delete(vmId);
    }
  }

  /** One recovery per application at a time; a loss during one is picked up by the next. */
  scheduleRecovery(applicationId: string, manual?: ManualRestore): Promise<void> {
    const previous = this.recovering.get(applicationId) ?? Promise.resolve();
    const next = previous.then(() => (manual ? this.serveRestore(applicationId, manual) : this.recoverUntilDone(applicationId)));
    this.recovering.set(applicationId, next);
    void next.finally(() => {
      if (this.recovering.get(applicationId) === next) this.recovering.delete(applicationId);
    });
    return next;
  }

  /** Resolves when the application's recoveries scheduled so far are over. */
  async settled(applicationId: string): Promise<void> {
    await this.recovering.get(applicationId);
  }

  /**
   * An operator's "restore from this checkpoint": the same steps as a recovery (lost VMs booted
   * afresh, then every actor replaced) from the checkpoint chosen, once no operation holds the
   * VMs; a checkpoint gone or corrupt ends it with a failed audit record. The request is cleared
   * either way.
   */
  private async serveRestore(applicationId: string, manual: ManualRestore): Promise<void> {
    try {
      for (let delayMs = this.opts.retryMs ?? 1_000; !this.stopped; delayMs = Math.min(delayMs * 2, 30_000)) {
        if (await this.recoverOnce(applicationId, manual)) return;
        await new Promise((r) => setTimeout(r, delayMs).unref());
      }
    } catch (e) {
      this.opts.log({
        event: "restore by hand failed",
        application: applicationId,
        sequence: manual.sequence,
        error: (e as Error).message,
      });
      await auditAppend(this.db, {
        actor: manual.by,
        procedure: "application.recovered",
        input: { applicationId, checkpoint: { sequence: manual.sequence }, by: manual.by },
        ok: false,
        error: (e as Error).message,
      });
    } finally {
      await applicationClearRestoreRequest(this.db, applicationId, manual.sequence);
      await publishEvent(this.db, { type: "application", applicationId, iteration: 0 }).catch(() => undefined);
    }
  }

  private async recoverUntilDone(applicationId: string): Promise<void> {
    let delayMs = this.opts.retryMs ?? 1_000;
    while (!this.stopped) {
      try {
        if (await this.recoverOnce(applicationId)) return;
      } catch (e) {
        this.opts.log({
          event: "recovery failed; retrying",
          application: applicationId,
          error: (e as Error).message,
          retryMs: delayMs,
        });
      }
      await new Promise((r) => setTimeout(r, delayMs).unref());
      delayMs = Math.min(delayMs * 2, 30_000);
    }
  }

  /** True when done (or nothing to do); false to try again later (an operation holds the VMs). */
  private async recoverOnce(applicationId: string, manual?: ManualRestore): Promise<boolean> {
    const app = await applicationGet(this.db, applicationId);
    if (!app) return true;
    const vms = await vmListByApplication(this.db, applicationId, ["running", "lost", "provisioning", "deleting"]);
    const held = vms.find((v) => v.lockedBy !== null);
    if (held) {
      this.opts.log({
        event: "recovery waits for an operation",
        application: applicationId,
        operationId: held.lockedBy,
        vm: held.name,
      });
      return false;
    }
    const lost = vms.filter((v) => v.state === "lost");
    if (lost.length === 0 && app.status === "running" && !manual) return true;
    // Each lost VM is booted afresh: its domain destroyed (a hung guest too) and created again
    // with a new theater and secret — on its host, or on another one when its host cannot be
    // reached. The application's other VMs must be up.
    const replaced: { vm: string; from: string; to: string }[] = [];
    for (const vm of lost) {
      const hostId = await this.rebootVm(vm);
      if (hostId !== vm.hostId) replaced.push({ vm: vm.name, from: vm.hostId, to: hostId });
    }
    const missing = vms.filter((v) => v.state === "running" && !this.mediator.theater(v.id));
    if (missing.length > 0) throw new Error(`VM ${missing[0]!.name} has no theater yet`);
    const restored = await this.checkpoints.restore(applicationId, manual?.sequence);
    if (!restored) await this.apps.respawn(applicationId);
    for (const vm of lost) await vmMarkRecovered(this.db, vm.id);
    await applicationSetHealth(this.db, applicationId, "running", null);
    const what = restored
      ? `checkpoint #${restored.sequence} (iteration ${restored.iteration}, taken ${restored.takenAt.toISOString()})`
      : "the beginning (no checkpoint)";
    await auditAppend(this.db, {
      actor: manual?.by ?? WORKER_ACTOR,
      procedure: "application.recovered",
      input: {
        applicationId,
        ...(manual ? { by: manual.by, requested: manual.sequence } : {}),
        restartedVms: lost.map((v) => v.name),
        replaced,
        checkpoint: restored ? { sequence: restored.sequence, iteration: restored.iteration } : null,
      },
      ok: true,
    });
    await publishEvent(this.db, { type: "topology" });
    await publishEvent(this.db, { type: "application", applicationId, iteration: restored?.iteration ?? 0 });
    this.opts.log({
      event: "application recovered",
      application: applicationId,
      from: what,
      restartedVms: lost.map((v) => v.name),
    });
    return true;
  }

  /** A VM booted afresh: its theater stopped (its actors and old secret forgotten), its domain destroyed and created again with a new theater; returns its host. */
  private async rebootVm(vm: Vm): Promise<string> {
    await this.mediator.stopTheater(vm.id, { force: true });
    const hostId = await this.destroyOrReplace(vm);
    await this.vms.provisionVm({
      id: vm.id,
      name: vm.name,
      hostId,
      applicationId: vm.applicationId,
      vcpus: vm.vcpus,
      memoryMiB: vm.memoryMiB,
    });
    return hostId;
  }

  /**
   * An upgrade's restart (the caller's operation holds the VMs): every running VM of the
   * application booted afresh as a recovery boots a lost one — its new theater has no behaviors
   * of the application and fetches the bundle the application row now names — and every actor
   * restored from checkpoint `sequence`, its state first rewritten by `migrate` when given.
   * `onRebooted` is told of each VM up again (the n-th, from 1), before any actor is restored.
   * A VM recorded lost meanwhile (its theater died during the restart: the rollback's restart
   * meets it) is booted afresh too, and recorded recovered once its actors are back.
   */
  async restartApplication(
    applicationId: string,
    sequence: number,
    migrate?: (actors: MigratedActor[]) => Promise<MigratedActor[]>,
    onRebooted?: (vmId: string, n: number) => void,
  ): Promise<{ sequence: number; iteration: number; restartedVms: string[] }> {
    const vms = await vmListByApplication(this.db, applicationId, ["running", "lost"]);
    for (const [i, vm] of vms.entries()) {
      await this.rebootVm(vm);
      onRebooted?.(vm.id, i + 1);
    }
    const restored = await this.checkpoints.restore(applicationId, sequence, migrate);
    if (!restored) throw new Error(`checkpoint #${sequence} of ${applicationId} could not be restored`);
    for (const vm of vms) if (vm.state === "lost") await vmMarkRecovered(this.db, vm.id);
    await applicationSetHealth(this.db, applicationId, "running", null);
    await publishEvent(this.db, { type: "topology" });
    this.opts.log({ event: "application restarted from checkpoint", application: applicationId, sequence, vms: vms.length });
    return { sequence: restored.sequence, iteration: restored.iteration, restartedVms: vms.map((v) => v.name) };
  }

  /**
   * Destroys a lost VM's domain so it can boot again, and returns the host it boots on: its own,
   * or — when that host cannot be reached — the first other online host with room (the old
   * domain, if the host comes back, is reported by reconciliation as belonging elsewhere).
   */
  private async destroyOrReplace(vm: {
    id: string;
    name: string;
    hostId: string;
    vcpus: number;
    memoryMiB: number;
  }): Promise<string> {
    try {
      await this.vms.destroyVm(vm.id);
      return vm.hostId;
    } catch (e) {
      if (!hostUnreachable(e)) throw e;
      const candidates = [...this.vms.connections().keys()];
      const hostId = await vmRehost(this.db, vm, candidates);
      if (!hostId)
        throw new Error(`host ${vm.hostId} cannot be reached and no other host has room for ${vm.name}: ${(e as Error).message}`);
      this.opts.log({ event: "lost VM replaced on another host", vm: vm.name, from: vm.hostId, to: hostId });
      return hostId;
    }
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    this.unsubscribe?.();
  }
}

function hostUnreachable(e: unknown): boolean {
  if (AppError.is(e)) return (e.details as { unreachable?: unknown }).unreachable === true;
  return isHypervisorError(e) && (e.code === "HOST_UNREACHABLE" || e.code === "HOST_CLOSED");
}
