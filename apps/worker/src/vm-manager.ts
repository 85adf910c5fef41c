import type { TheaterFault } from "@malleo/actors";
import { AppError, type HostUriPolicy } from "@malleo/core";
import { vmGet, vmListLive, type Db } from "@malleo/db";
import type { HostConnection } from "@malleo/hypervisor";
import type { Mediator } from "@malleo/mediator";
import type { ProvisionRequest } from "@malleo/workflows/worker";
import type { GuestTheaters } from "./guest-theaters";
import { HostPool } from "./host-pool";
import type { Logger } from "./log";
import type { Provisioner } from "./provisioner";
import { TheaterSupervisor } from "./theater-supervisor";

/**
 * Simulated VMs: a libvirt test-driver domain and a local theater process. The test driver
 * keeps no state across connections, so a freshly opened one is given back the domains of the
 * VMs Postgres says run there (their theaters are separate processes and live on).
 */
export class SimulatedProvisioner implements Provisioner {
  constructor(
    private readonly db: Db,
    private readonly theaters: TheaterSupervisor,
  ) {}

  private static domain(conn: HostConnection, vm: ProvisionRequest): Promise<unknown> {
    return conn.domainCreate({
      name: vm.name,
      uuid: vm.id,
      vcpus: vm.vcpus,
      memoryMiB: vm.memoryMiB,
      metadata: { vmId: vm.id, application: vm.applicationId },
    });
  }

  async prepareHost(conn: HostConnection): Promise<void> {
    const vms = (await vmListLive(this.db)).filter((v) => v.hostId === conn.spec.id && v.state === "running");
    for (const vm of vms) await SimulatedProvisioner.domain(conn, vm);
  }

  async provision(conn: HostConnection, vm: ProvisionRequest): Promise<void> {
    await SimulatedProvisioner.domain(conn, vm);
    await this.theaters.start(vm.id, vm.name);
  }
}

/**
 * The VM Manager: the host pool (host-pool.ts: connections, backoff, sync), the theater
 * supervisor (theater-supervisor.ts: local theater processes, records, adoption) and one
 * provisioner per kind of host (simulated here, real guests in guest-theaters.ts). The
 * workflow's Provision and Clean up steps, restoration after a restart and recovery call it.
 */
export class VmManager {
  private readonly pool: HostPool;
  private readonly theaters: TheaterSupervisor;
  private readonly simulated: SimulatedProvisioner;
  /** Test adapter, used only by failure-mode tests. */
  readonly testing: {
    /** The next local theater started dies at a precise point of the migration protocol (the real process really exits there). */
    failNextTheater(fault: TheaterFault): void;
    /** Drops a host's connection as a network failure would; it is reopened by the backoff schedule, or at once by the next use. */
    disconnectHost(hostId: string): Promise<void>;
  };

  constructor(
    private readonly db: Db,
    private readonly mediator: Mediator,
    private readonly opts: {
      dataDir: string;
      theaterTimeoutMs: number;
      /** Theaters survive a worker crash and are adopted by the next worker (needs a fixed Mediator port). */
      detachTheaters: boolean;
      /** Real guests on qemu hosts (absent: only simulated hosts can take VMs). */
      guests?: GuestTheaters;
      /** Postgres URL to LISTEN on: a host registered from the UI or API is connected at once. */
      databaseUrl?: string;
      /** Every worker's Mediator (this one's first): a theater tries them in turn when its own goes away. */
      mediatorAddresses?: () => string[];
      /** This process's URI rules, checked again for every stored host row before it is opened. */
      uriPolicy?: HostUriPolicy;
      log: Logger;
    },
  ) {
    this.theaters = new TheaterSupervisor(db, mediator, {
      dataDir: opts.dataDir,
      theaterTimeoutMs: () => this.opts.theaterTimeoutMs,
      detach: opts.detachTheaters,
      mediatorAddresses: opts.mediatorAddresses,
      log: opts.log,
    });
    this.simulated = new SimulatedProvisioner(db, this.theaters);
    this.pool = new HostPool(db, {
      prepare: async (conn) => {
        await this.provisionerFor(conn)?.prepareHost?.(conn);
      },
      databaseUrl: opts.databaseUrl,
      uriPolicy: opts.uriPolicy,
      log: opts.log,
    });
    this.testing = {
      failNextTheater: (fault) => {
        this.theaters.nextFault = fault;
      },
      disconnectHost: (hostId) => this.pool.drop(hostId, "the libvirt connection was closed"),
    };
  }

  private provisionerFor(conn: HostConnection): Provisioner | undefined {
    if (conn.kind === "qemu") return this.opts.guests;
    if (conn.kind === "test") return this.simulated;
    return undefined;
  }

  /** Known once the Mediator listens. */
  get mediatorAddress(): string {
    return this.theaters.mediatorAddress;
  }
  set mediatorAddress(address: string) {
    this.theaters.mediatorAddress = address;
  }

  /**
   * Connects every host in Postgres that has no open connection (at start, on each
   * reconciliation pass, when an operation needs one), whatever its backoff, and closes the
   * connections of hosts no longer registered.
   */
  connectHosts(): Promise<void> {
    return this.pool.connectHosts();
  }

  /** Picks up what changed in the hosts table (hosts already retrying keep their backoff). */
  syncHosts(): Promise<void> {
    return this.pool.syncHosts();
  }

  /** The stored URI of a host that the URI rules refused (it is never opened), if any. */
  uriRefusal(hostId: string): string | undefined {
    return this.pool.uriRefusal(hostId);
  }

  /** The reconnect state of a host that is not connected (its last libvirt error, attempts, next delay). */
  reconnectState(hostId: string) {
    return this.pool.reconnectState(hostId);
  }

  /** Recreates the domain and theater of every live VM (after a worker start). */
  async restoreVms(): Promise<void> {
    await this.theaters.adopt();
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
    const conn = await this.pool.get(vm.hostId);
    const provisioner = this.provisionerFor(conn);
    if (!provisioner)
      throw new AppError("HYPERVISOR_FAILED", `host ${vm.hostId} is a ${conn.kind} host: no way to create a VM there`, {
        hostId: vm.hostId,
      });
    try {
      await provisioner.provision(conn, vm);
    } catch (e) {
      if (e instanceof AppError) throw e;
      await this.pool.noteLostConnection(vm.hostId, e);
      throw new AppError("HYPERVISOR_FAILED", `host ${vm.hostId} refused to create ${vm.name}: ${(e as Error).message}`, {
        hostId: vm.hostId,
      });
    }
  }

  /** After a worker restart, before the Mediator accepts connections: see TheaterSupervisor.prepareAdoption. */
  prepareAdoption(): Promise<void> {
    return this.theaters.prepareAdoption();
  }

  /** Kills the VM's local theater process, if any (a lost one that might still hang on). */
  killTheater(vmId: string): void {
    this.theaters.kill(vmId);
  }

  /** Stops the VM's theater and destroys + undefines its domain; missing pieces are fine. */
  async destroyVm(vmId: string): Promise<void> {
    const vm = await vmGet(this.db, vmId);
    if (this.mediator.theater(vmId)) {
      await this.mediator
        .stopTheater(vmId)
        .catch((e: Error) => this.opts.log({ event: "theater stop failed", vmId, error: e.message }));
    }
    this.theaters.kill(vmId);
    if (!vm) return;
    const conn = await this.pool.get(vm.hostId);
    try {
      // Names are unique per host, not ours: only a domain carrying this VM's UUID is destroyed.
      const domain = await conn.domainGet(vm.name);
      if (!domain) return;
      if (domain.uuid.toLowerCase() !== vm.id.toLowerCase()) {
        this.opts.log({ event: "domain not destroyed: it is not this VM's", vmId, name: vm.name, uuid: domain.uuid });
        return;
      }
      await conn.domainDestroy(vm.name);
    } catch (e) {
      await this.pool.noteLostConnection(vm.hostId, e);
      throw e;
    }
  }

  /** How long a new theater may take to register; adjustable at run time. */
  setTheaterTimeout(ms: number): void {
    this.opts.theaterTimeoutMs = ms;
  }

  /** Open host connections (hostId → connection), for the CPU sampler, the reconciler and tests. */
  connections(): ReadonlyMap<string, HostConnection> {
    return this.pool.connections();
  }

  /** Process id of a simulated VM's local theater (its CPU time stands in for the VM's). */
  theaterPid(vmId: string): number | undefined {
    return this.theaters.pid(vmId);
  }

  /** Forgets a host whose connection broke; it is reopened with backoff, or by the next connectHosts(). */
  dropHost(hostId: string, error?: string): Promise<void> {
    return this.pool.drop(hostId, error);
  }

  /** Every domain on every connected host, for reconciliation against Postgres. */
  async listDomains(): Promise<{ hostId: string; name: string; active: boolean }[]> {
    const all = await Promise.all(
      [...this.pool.connections()].map(async ([hostId, h]) =>
        (await h.domainList()).map((d) => ({ hostId, name: d.name, active: d.active })),
      ),
    );
    return all.flat();
  }

  /**
   * Graceful stop. With `stopTheaters` (the default for simulated hosts, so that Ctrl-C leaves
   * nothing behind) the theaters are killed too; a crash (SIGKILL) leaves detached ones running.
   */
  async shutdown(opts: { stopTheaters?: boolean } = {}): Promise<void> {
    const closing = this.pool.close();
    if (opts.stopTheaters ?? true) await this.theaters.stopAll();
    this.theaters.forget();
    await closing;
  }
}
