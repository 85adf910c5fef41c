import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { spawnLocalTheater, type TheaterFault } from "@malleo/actors";
import { AppError, hostReasonForViewers } from "@malleo/core";
import {
  actorUansPlaceableOnVm,
  hostCapacitySet,
  hostList,
  hostStatusSet,
  listenEvents,
  publishEvent,
  vmGet,
  vmListLive,
  type Db,
  type Host,
} from "@malleo/db";
import { HostConnection, isHypervisorError } from "@malleo/hypervisor";
import type { Mediator } from "@malleo/mediator";
import type { ProvisionRequest } from "@malleo/workflows/worker";
import type { GuestTheaters } from "./guest-theaters";
import type { Logger } from "./log";
import { reconnectDelayMs } from "./reconnect-backoff";

type LocalTheater = ReturnType<typeof spawnLocalTheater>;
/** A host whose connection is lost or could not be opened, retried with backoff. */
interface HostRetry {
  /** Failed attempts so far (0 before the first retry). */
  attempt: number;
  /** The libvirt error of the last attempt (what the UI shows as the reason). */
  error: string;
  timer: NodeJS.Timeout | undefined;
  nextDelayMs: number;
}
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
  /** Hosts being connected right now (one attempt per host at a time). */
  private readonly connecting = new Map<string, Promise<HostConnection | undefined>>();
  /** Hosts lost or never reached, with their reconnect schedule. */
  private readonly retries = new Map<string, HostRetry>();
  private stopWatching: (() => void) | undefined;
  private syncing: Promise<void> | undefined;
  private syncAgain = false;
  private stopped = false;
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
      /** Postgres URL to LISTEN on: a host registered from the UI or API is connected at once. */
      databaseUrl?: string;
      /** Every worker's Mediator (this one's first): a theater tries them in turn when its own goes away. */
      mediatorAddresses?: () => string[];
      log: Logger;
    },
  ) {}

  /**
   * Connects every host in Postgres that has no open connection (at start, on each
   * reconciliation pass, when an operation needs one), whatever its backoff, and closes the
   * connections of hosts no longer registered.
   */
  async connectHosts(): Promise<void> {
    this.watchHosts();
    const rows = await this.forgetRemovedHosts();
    await Promise.all(rows.filter((h) => !this.hosts.has(h.id)).map((h) => this.connectHost(h)));
  }

  /**
   * Picks up what changed in the hosts table: connects hosts never tried (just registered) and
   * forgets removed ones; hosts already retrying keep their backoff.
   */
  async syncHosts(): Promise<void> {
    const rows = await this.forgetRemovedHosts();
    await Promise.all(rows.filter((h) => !this.hosts.has(h.id) && !this.retries.has(h.id)).map((h) => this.connectHost(h)));
  }

  /** LISTENs for topology changes (hosts registered or removed from the UI/API) and syncs the hosts. */
  private watchHosts(): void {
    if (this.stopWatching || this.stopped || !this.opts.databaseUrl) return;
    this.stopWatching = listenEvents(
      this.opts.databaseUrl,
      (e) => {
        if (e.type === "topology") this.queueSync();
      },
      (e) => this.opts.log({ event: "host watch error", error: e.message }),
    );
  }

  private queueSync(): void {
    if (this.stopped) return;
    if (this.syncing) {
      this.syncAgain = true;
      return;
    }
    this.syncing = this.syncHosts()
      .catch((e: Error) => this.opts.log({ event: "host sync failed", error: e.message }))
      .finally(() => {
        this.syncing = undefined;
        if (this.syncAgain) {
          this.syncAgain = false;
          this.queueSync();
        }
      });
  }

  private async forgetRemovedHosts(): Promise<Host[]> {
    const rows = await hostList(this.db);
    const registered = new Set(rows.map((h) => h.id));
    for (const id of new Set([...this.hosts.keys(), ...this.retries.keys()])) {
      if (registered.has(id)) continue;
      this.cancelRetry(id);
      await this.dropConnection(id);
      this.opts.log({ event: "host forgotten: no longer registered", hostId: id });
    }
    return rows;
  }

  private connectHost(h: Host): Promise<HostConnection | undefined> {
    const pending = this.connecting.get(h.id);
    if (pending) return pending;
    const attempt = this.openHost(h).finally(() => this.connecting.delete(h.id));
    this.connecting.set(h.id, attempt);
    return attempt;
  }

  /**
   * One connection attempt: open, prepare (accelerator probe on qemu hosts, domains rebuilt on
   * simulated ones), read the capacity of a newly registered host, and mark the host online; on
   * failure the host is marked unreachable with libvirt's error and retried with backoff.
   */
  private async openHost(h: Host): Promise<HostConnection | undefined> {
    let conn: HostConnection | undefined;
    try {
      conn = await HostConnection.open({ id: h.id, uri: h.uri });
      if (conn.kind === "qemu") await this.opts.guests?.prepareHost(conn);
      // The test driver keeps no state across connections: a fresh one must be given back the
      // domains of the VMs Postgres says run there (their theaters are separate processes).
      if (conn.kind === "test") await this.rebuildSimulatedDomains(conn, h.id);
      if (h.cpus === 0 || h.memoryMiB === 0) {
        // Registered by URI only (UI, API, MALLEO_HOSTS): its capacity is what libvirt reports.
        const capacity = await conn.capacity();
        await hostCapacitySet(this.db, h.id, capacity);
        this.opts.log({ event: "host capacity read", hostId: h.id, cpus: capacity.cpus, memoryMiB: capacity.memoryMiB });
      }
    } catch (e) {
      await conn?.close().catch(() => undefined);
      await this.hostFailed(h, (e as Error).message);
      return undefined;
    }
    if (this.stopped) {
      await conn.close().catch(() => undefined);
      return undefined;
    }
    this.hosts.set(h.id, conn);
    const retried = this.retries.get(h.id);
    this.cancelRetry(h.id);
    this.opts.log({
      event: retried ? "host reconnected" : "host connected",
      hostId: h.id,
      uri: h.uri,
      attempts: retried?.attempt,
    });
    if (h.status !== "online" || h.statusReason !== null) {
      await hostStatusSet(this.db, h.id, { online: true }).catch(() => undefined); // removed meanwhile: nothing to mark
      await publishEvent(this.db, { type: "topology" }).catch(() => undefined);
    }
    return conn;
  }

  /** Marks the host unreachable with the error (its VMs are left as they are) and schedules the next attempt. */
  private async hostFailed(h: Pick<Host, "id" | "uri" | "status" | "statusReason">, error: string): Promise<void> {
    const retry = this.scheduleRetry(h.id, error);
    this.opts.log({
      event: "host unreachable",
      hostId: h.id,
      uri: h.uri,
      error,
      attempt: retry?.attempt,
      retryInMs: retry?.nextDelayMs,
    });
    if (h.status === "unreachable" && h.statusReason === hostReasonForViewers(error)) return;
    // Viewers see a generic reason; libvirt's text (which may quote a file it read) is in the log above.
    await hostStatusSet(this.db, h.id, { online: false, reason: hostReasonForViewers(error) }).catch(() => undefined);
    await publishEvent(this.db, { type: "topology" }).catch(() => undefined);
  }

  /** Next reconnect attempt: 0.5 s after the first failure, doubling to 30 s, jittered. */
  private scheduleRetry(hostId: string, error: string): HostRetry | undefined {
    if (this.stopped) return undefined;
    const previous = this.retries.get(hostId);
    clearTimeout(previous?.timer);
    const attempt = previous ? previous.attempt + 1 : 0;
    const retry: HostRetry = { attempt, error, timer: undefined, nextDelayMs: reconnectDelayMs(attempt) };
    retry.timer = setTimeout(() => {
      retry.timer = undefined;
      void this.retryHost(hostId);
    }, retry.nextDelayMs);
    retry.timer.unref();
    this.retries.set(hostId, retry);
    return retry;
  }

  private async retryHost(hostId: string): Promise<void> {
    if (this.stopped || this.hosts.has(hostId)) return;
    let row: Host | undefined;
    try {
      row = (await hostList(this.db)).find((h) => h.id === hostId);
    } catch (e) {
      this.scheduleRetry(hostId, this.retries.get(hostId)?.error ?? (e as Error).message);
      return;
    }
    if (!row) this.cancelRetry(hostId);
    else await this.connectHost(row);
  }

  private cancelRetry(hostId: string): void {
    clearTimeout(this.retries.get(hostId)?.timer);
    this.retries.delete(hostId);
  }

  /** The reconnect state of a host that is not connected (its last libvirt error, attempts, next delay). */
  reconnectState(hostId: string): Readonly<Omit<HostRetry, "timer">> | undefined {
    const r = this.retries.get(hostId);
    return r && { attempt: r.attempt, error: r.error, nextDelayMs: r.nextDelayMs };
  }

  private async dropConnection(hostId: string): Promise<void> {
    const h = this.hosts.get(hostId);
    this.hosts.delete(hostId);
    await h?.close().catch(() => undefined);
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
      await this.noteLostConnection(vm.hostId, e);
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
    // A new theater brings no actor: it gets them from spawns and migrations the Mediator drives.
    this.mediator.expectTheater(vmId, secret, { actors: [] });
    const logDir = path.join(this.opts.dataDir, "logs");
    mkdirSync(logDir, { recursive: true });
    const theater = spawnLocalTheater({
      vmId,
      mediator: (this.opts.mediatorAddresses?.() ?? [this.mediatorAddress]).join(","),
      secret,
      logFile: path.join(logDir, `theater-${name}.log`),
      detached: this.opts.detachTheaters,
      fault: this.nextTheaterFault,
    });
    this.nextTheaterFault = undefined;
    if (this.opts.detachTheaters) {
      // The record lets a restarted worker adopt this theater (it reconnects with the same secret).
      // It holds the VM's secret: readable by the worker's user only.
      const dir = path.dirname(this.theaterRecordPath(vmId));
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      chmodSync(dir, 0o700);
      const record: TheaterRecord = { vmId, name, pid: theater.pid, secret };
      writeFileSync(this.theaterRecordPath(vmId), JSON.stringify(record), { mode: 0o600 });
      chmodSync(this.theaterRecordPath(vmId), 0o600);
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
    chmodSync(dir, 0o700); // records written before this rule were world-readable
    const live = new Map((await vmListLive(this.db)).map((v) => [v.id, v]));
    for (const file of readdirSync(dir).filter((f) => f.endsWith(".json"))) {
      chmodSync(path.join(dir, file), 0o600);
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
      // It may bring back only actors of the applications placed on its VM (one may have moved
      // between their VMs just before a crash, before Postgres recorded it).
      // The record holds its boot secret; the one it proves now (rotated) is read from Postgres.
      await this.mediator.readmitTheater(record.vmId, record.secret, {
        actors: await actorUansPlaceableOnVm(this.db, record.vmId),
      });
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

  /** Kills the VM's local theater process, if any (a lost one that might still hang on). */
  killTheater(vmId: string): void {
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
      await this.noteLostConnection(vm.hostId, e);
      throw e;
    }
  }

  /** A call that failed because the connection broke: drop it and reconnect with backoff. */
  private async noteLostConnection(hostId: string, e: unknown): Promise<void> {
    if (isHypervisorError(e) && (e.code === "HOST_UNREACHABLE" || e.code === "HOST_CLOSED"))
      await this.dropHost(hostId, e.message);
  }

  /** How long a new theater may take to register; adjustable at run time. */
  setTheaterTimeout(ms: number): void {
    this.opts.theaterTimeoutMs = ms;
  }

  /** The open connection to a host, if any (tests use it to arrange real libvirt refusals). */
  hostConnection(hostId: string): HostConnection | undefined {
    return this.hosts.get(hostId);
  }

  /**
   * Test hook: drops a host's connection as a network failure would. It is reopened (with the
   * URI then in Postgres) by the backoff schedule, or at once by the next use.
   */
  async disconnectHost(hostId: string): Promise<void> {
    await this.dropConnection(hostId);
    this.scheduleRetry(hostId, "the libvirt connection was closed");
  }

  /** Open host connections (hostId → connection), for the CPU sampler and the reconciler. */
  connections(): ReadonlyMap<string, HostConnection> {
    return this.hosts;
  }

  /** Process id of a simulated VM's local theater (its CPU time stands in for the VM's). */
  theaterPid(vmId: string): number | undefined {
    return this.theaters.get(vmId)?.pid ?? this.adopted.get(vmId);
  }

  /** Forgets a host whose connection broke; it is reopened with backoff, or by the next connectHosts(). */
  async dropHost(hostId: string, error = "the libvirt connection broke"): Promise<void> {
    await this.dropConnection(hostId);
    this.scheduleRetry(hostId, error);
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
    this.stopped = true;
    this.stopWatching?.();
    for (const id of [...this.retries.keys()]) this.cancelRetry(id);
    await Promise.allSettled([...this.connecting.values(), this.syncing]);
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
