import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { spawnLocalTheater } from "@malleo/actors";
import { AppError } from "@malleo/core";
import { hostList, vmGet, vmListLive, type Db } from "@malleo/db";
import { HostConnection } from "@malleo/hypervisor";
import type { Mediator } from "@malleo/mediator";
import type { ProvisionRequest } from "@malleo/workflows/worker";
import type { Logger } from "./log";

type LocalTheater = ReturnType<typeof spawnLocalTheater>;

/**
 * The VM Manager: one libvirt connection per host, the domains on them, and the theater of
 * each VM. On simulated (test-driver) hosts a VM's theater is a local child process that
 * dies with the worker; the test driver keeps no state, so domains are rebuilt from Postgres.
 */
export class VmManager {
  private readonly hosts = new Map<string, HostConnection>();
  private readonly theaters = new Map<string, LocalTheater>();

  constructor(
    private readonly db: Db,
    private readonly mediator: Mediator,
    private readonly opts: { dataDir: string; mediatorAddress: string; theaterTimeoutMs: number; log: Logger },
  ) {}

  async connectHosts(): Promise<void> {
    for (const h of await hostList(this.db)) {
      if (this.hosts.has(h.id)) continue;
      try {
        this.hosts.set(h.id, await HostConnection.open({ id: h.id, uri: h.uri }));
        this.opts.log({ event: "host connected", hostId: h.id, uri: h.uri });
      } catch (e) {
        this.opts.log({ event: "host unreachable", hostId: h.id, uri: h.uri, error: (e as Error).message });
      }
    }
  }

  /** The host's connection, reconnecting once if it is missing. */
  private async host(hostId: string): Promise<HostConnection> {
    if (!this.hosts.has(hostId)) await this.connectHosts();
    const h = this.hosts.get(hostId);
    if (!h) throw new AppError("HYPERVISOR_FAILED", `host ${hostId} cannot be reached`, { hostId, unreachable: true });
    return h;
  }

  /** Recreates the domain and theater of every live VM (after a worker start). */
  async restoreVms(): Promise<void> {
    const vms = (await vmListLive(this.db)).filter((v) => v.state === "running");
    await Promise.all(
      vms.map((vm) =>
        this.provisionVm({
          id: vm.id,
          name: vm.name,
          hostId: vm.hostId,
          applicationId: vm.applicationId,
          vcpus: vm.vcpus,
          memoryMiB: vm.memoryMiB,
        }),
      ),
    );
  }

  /** Idempotent: an existing matching domain and a registered theater are kept. */
  async provisionVm(vm: ProvisionRequest): Promise<void> {
    try {
      await (
        await this.host(vm.hostId)
      ).domainCreate({
        name: vm.name,
        uuid: vm.id,
        vcpus: vm.vcpus,
        memoryMiB: vm.memoryMiB,
        metadata: { vmId: vm.id, application: vm.applicationId },
      });
    } catch (e) {
      if (e instanceof AppError) throw e;
      throw new AppError("HYPERVISOR_FAILED", `host ${vm.hostId} refused to create ${vm.name}: ${(e as Error).message}`, {
        hostId: vm.hostId,
      });
    }
    await this.startTheater(vm.id, vm.name);
  }

  private async startTheater(vmId: string, name: string): Promise<void> {
    if (this.theaters.has(vmId) && this.mediator.theater(vmId)) return;
    this.theaters.get(vmId)?.kill();
    const secret = randomBytes(24).toString("hex");
    this.mediator.expectTheater(vmId, secret);
    const logDir = path.join(this.opts.dataDir, "logs");
    mkdirSync(logDir, { recursive: true });
    const theater = spawnLocalTheater({
      vmId,
      mediator: this.opts.mediatorAddress,
      secret,
      logFile: path.join(logDir, `theater-${name}.log`),
    });
    this.theaters.set(vmId, theater);
    void theater.exited.then((code) => {
      if (this.theaters.get(vmId) === theater) this.theaters.delete(vmId);
      this.opts.log({ event: "theater exited", vmId, name, code });
    });
    try {
      await this.mediator.awaitTheater(vmId, this.opts.theaterTimeoutMs);
    } catch {
      theater.kill();
      throw new AppError("THEATER_TIMEOUT", `the theater of ${name} did not register within ${this.opts.theaterTimeoutMs} ms`, {
        vmId,
      });
    }
  }

  /** Stops the VM's theater and destroys + undefines its domain; missing pieces are fine. */
  async destroyVm(vmId: string): Promise<void> {
    const vm = await vmGet(this.db, vmId);
    if (this.mediator.theater(vmId)) {
      await this.mediator
        .stopTheater(vmId)
        .catch((e: Error) => this.opts.log({ event: "theater stop failed", vmId, error: e.message }));
    }
    const theater = this.theaters.get(vmId);
    if (theater) {
      theater.kill();
      this.theaters.delete(vmId);
    }
    if (vm) await (await this.host(vm.hostId)).domainDestroy(vm.name);
  }

  /** Every domain on every connected host, for reconciliation against Postgres. */
  async listDomains(): Promise<{ hostId: string; name: string; active: boolean }[]> {
    const all = await Promise.all(
      [...this.hosts].map(async ([hostId, h]) => (await h.domainList()).map((d) => ({ hostId, name: d.name, active: d.active }))),
    );
    return all.flat();
  }

  async shutdown(): Promise<void> {
    for (const t of this.theaters.values()) t.kill();
    await Promise.all([...this.theaters.values()].map((t) => t.exited));
    this.theaters.clear();
    for (const h of this.hosts.values()) await h.close().catch(() => undefined);
    this.hosts.clear();
  }
}
