import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { spawnLocalTheater, type TheaterFault } from "@malleo/actors";
import { AppError } from "@malleo/core";
import { hostList, vmGet, vmListLive, type Db } from "@malleo/db";
import { HostConnection } from "@malleo/hypervisor";
import type { Mediator } from "@malleo/mediator";
import type { ProvisionRequest } from "@malleo/workflows/worker";
import type { GuestTheaters } from "./guest-theaters";
import type { Logger } from "./log";

type LocalTheater = ReturnType<typeof spawnLocalTheater>;
interface TheaterRecord {
  vmId: string;
  name: string;
  pid: number;
  secret: string;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function killPid(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // already gone
  }
}

/**
 * The VM Manager: one libvirt connection per host, the domains on them, and the theater of
 * each VM. On simulated (test-driver) hosts a VM's theater is a local child process that
 * dies with the worker; the test driver keeps no state, so domains are rebuilt from Postgres.
 */
export class VmManager {
  private readonly hosts = new Map<string, HostConnection>();
  private readonly theaters = new Map<string, LocalTheater>();
  /** Theaters started by an earlier worker process and adopted by this one: vmId → pid. */
  private readonly adopted = new Map<string, number>();
  /** Known once the Mediator listens. */
  mediatorAddress = "";
  /**
   * Test hooks, set only by failure-mode tests: the next local theater started dies at a
   * precise point of the migration protocol (the real process really exits there).
   */
  nextTheaterFault: TheaterFault | undefined;

  constructor(
    private readonly db: Db,
    private readonly mediator: Mediator,
    private opts: {
      dataDir: string;
      theaterTimeoutMs: number;
      /** Theaters survive a worker crash and are adopted by the next worker (needs a fixed Mediator port). */
      detachTheaters: boolean;
      /** Real guests on qemu hosts (absent: only simulated hosts can take VMs). */
      guests?: GuestTheaters;
      log: Logger;
    },
  ) {}

  async connectHosts(): Promise<void> {
    for (const h of await hostList(this.db)) {
      if (this.hosts.has(h.id)) continue;
      try {
        const conn = await HostConnection.open({ id: h.id, uri: h.uri });
        if (conn.kind === "qemu") await this.opts.guests?.prepareHost(conn);
        // The test driver keeps no state across connections: a fresh one must be given back the
        // domains of the VMs Postgres says run there (their theaters are separate processes).
        if (conn.kind === "test") await this.rebuildSimulatedDomains(conn, h.id);
        this.hosts.set(h.id, conn);
        this.opts.log({ event: "host connected", hostId: h.id, uri: h.uri });
      } catch (e) {
        this.opts.log({ event: "host unreachable", hostId: h.id, uri: h.uri, error: (e as Error).message });
      }
    }
  }

  private async rebuildSimulatedDomains(conn: HostConnection, hostId: string): Promise<void> {
    const vms = (await vmListLive(this.db)).filter((v) => v.hostId === hostId && v.state === "running");
    for (const vm of vms) {
      await conn.domainCreate({
        name: vm.name,
        uuid: vm.id,
        vcpus: vm.vcpus,
        memoryMiB: vm.memoryMiB,
        metadata: { vmId: vm.id, application: vm.applicationId },
      });
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
    await this.adoptTheaters();
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
    const conn = await this.host(vm.hostId);
    if (conn.kind === "qemu" && this.opts.guests) return this.opts.guests.provision(conn, vm);
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

  private theaterRecordPath(vmId: string): string {
    return path.join(this.opts.dataDir, "theaters", `${vmId}.json`);
  }

  private async startTheater(vmId: string, name: string): Promise<void> {
    if (this.mediator.theater(vmId)) return;
    this.theaters.get(vmId)?.kill();
    this.theaters.delete(vmId);
    const secret = randomBytes(24).toString("hex");
    this.mediator.expectTheater(vmId, secret);
    const logDir = path.join(this.opts.dataDir, "logs");
    mkdirSync(logDir, { recursive: true });
    const theater = spawnLocalTheater({
      vmId,
      mediator: this.mediatorAddress,
      secret,
      logFile: path.join(logDir, `theater-${name}.log`),
      detached: this.opts.detachTheaters,
      fault: this.nextTheaterFault,
    });
    this.nextTheaterFault = undefined;
    if (this.opts.detachTheaters) {
      // The record lets a restarted worker adopt this theater (it reconnects with the same secret).
      mkdirSync(path.dirname(this.theaterRecordPath(vmId)), { recursive: true });
      const record: TheaterRecord = { vmId, name, pid: theater.pid, secret };
      writeFileSync(this.theaterRecordPath(vmId), JSON.stringify(record));
    }
    this.theaters.set(vmId, theater);
    void theater.exited.then((code) => {
      if (this.theaters.get(vmId) === theater) this.theaters.delete(vmId);
      this.opts.log({ event: "theater exited", vmId, name, code });
    });
    try {
      await this.mediator.awaitTheater(vmId, this.opts.theaterTimeoutMs);
    } catch {
      this.killTheater(vmId);
      throw new AppError("THEATER_TIMEOUT", `the theater of ${name} did not register within ${this.opts.theaterTimeoutMs} ms`, {
        vmId,
      });
    }
  }

  /**
   * After a worker restart, step 1 (before the Mediator accepts connections, so that a
   * surviving theater reconnecting at once is not refused): theaters of live VMs that survived
   * (detached) are expected back with their recorded secret; theaters of VMs no longer live are killed.
   */
  async prepareAdoption(): Promise<void> {
    const dir = path.join(this.opts.dataDir, "theaters");
    if (!existsSync(dir)) return;
    const live = new Map((await vmListLive(this.db)).map((v) => [v.id, v]));
    for (const file of readdirSync(dir).filter((f) => f.endsWith(".json"))) {
      let record: TheaterRecord;
      try {
        record = JSON.parse(readFileSync(path.join(dir, file), "utf8")) as TheaterRecord;
      } catch {
        rmSync(path.join(dir, file), { force: true });
        continue;
      }
      if (!live.has(record.vmId) || !processAlive(record.pid)) {
        killPid(record.pid);
        rmSync(path.join(dir, file), { force: true });
        continue;
      }
      this.mediator.expectTheater(record.vmId, record.secret);
      this.adopted.set(record.vmId, record.pid);
    }
  }

  /** Step 2: waits for the expected theaters to reconnect; one that does not is killed (and replaced by restoreVms). */
  private async adoptTheaters(): Promise<void> {
    await Promise.all(
      [...this.adopted].map(([vmId, pid]) =>
        this.mediator.awaitTheater(vmId, this.opts.theaterTimeoutMs).then(
          () => this.opts.log({ event: "theater adopted", vmId, pid }),
          () => {
            this.opts.log({ event: "theater not adopted: did not reconnect", vmId, pid });
            this.killTheater(vmId);
          },
        ),
      ),
    );
  }

  private killTheater(vmId: string): void {
    this.theaters.get(vmId)?.kill();
    this.theaters.delete(vmId);
    const pid = this.adopted.get(vmId);
    if (pid !== undefined) killPid(pid);
    this.adopted.delete(vmId);
    rmSync(this.theaterRecordPath(vmId), { force: true });
  }

  /** Stops the VM's theater and destroys + undefines its domain; missing pieces are fine. */
  async destroyVm(vmId: string): Promise<void> {
    const vm = await vmGet(this.db, vmId);
    if (this.mediator.theater(vmId)) {
      await this.mediator
        .stopTheater(vmId)
        .catch((e: Error) => this.opts.log({ event: "theater stop failed", vmId, error: e.message }));
    }
    this.killTheater(vmId);
    if (!vm) return;
    const conn = await this.host(vm.hostId);
    // Names are unique per host, not ours: only a domain carrying this VM's UUID is destroyed.
    const domain = await conn.domainGet(vm.name);
    if (!domain) return;
    if (domain.uuid.toLowerCase() !== vm.id.toLowerCase()) {
      this.opts.log({ event: "domain not destroyed: it is not this VM's", vmId, name: vm.name, uuid: domain.uuid });
      return;
    }
    await conn.domainDestroy(vm.name);
  }

  /** How long a new theater may take to register; adjustable at run time. */
  setTheaterTimeout(ms: number): void {
    this.opts.theaterTimeoutMs = ms;
  }

  /** The open connection to a host, if any (tests use it to arrange real libvirt refusals). */
  hostConnection(hostId: string): HostConnection | undefined {
    return this.hosts.get(hostId);
  }

  /** Closes a host's connection; the next use reconnects with the URI then in Postgres. */
  async disconnectHost(hostId: string): Promise<void> {
    const h = this.hosts.get(hostId);
    this.hosts.delete(hostId);
    await h?.close();
  }

  /** Open host connections (hostId → connection), for the CPU sampler and the reconciler. */
  connections(): ReadonlyMap<string, HostConnection> {
    return this.hosts;
  }

  /** Process id of a simulated VM's local theater (its CPU time stands in for the VM's). */
  theaterPid(vmId: string): number | undefined {
    return this.theaters.get(vmId)?.pid ?? this.adopted.get(vmId);
  }

  /** Forgets a host whose connection broke; the next connectHosts() opens a new one. */
  async dropHost(hostId: string): Promise<void> {
    const h = this.hosts.get(hostId);
    this.hosts.delete(hostId);
    await h?.close().catch(() => undefined);
  }

  /** Every domain on every connected host, for reconciliation against Postgres. */
  async listDomains(): Promise<{ hostId: string; name: string; active: boolean }[]> {
    const all = await Promise.all(
      [...this.hosts].map(async ([hostId, h]) => (await h.domainList()).map((d) => ({ hostId, name: d.name, active: d.active }))),
    );
    return all.flat();
  }

  /**
   * Graceful stop. With `stopTheaters` (the default for simulated hosts, so that Ctrl-C leaves
   * nothing behind) the theaters are killed too; a crash (SIGKILL) leaves detached ones running.
   */
  async shutdown(opts: { stopTheaters?: boolean } = {}): Promise<void> {
    if (opts.stopTheaters ?? true) {
      const exits = [...this.theaters.values()].map((t) => t.exited);
      for (const vmId of new Set([...this.theaters.keys(), ...this.adopted.keys()])) this.killTheater(vmId);
      await Promise.all(exits);
    }
    this.theaters.clear();
    for (const h of this.hosts.values()) await h.close().catch(() => undefined);
    this.hosts.clear();
  }
}
