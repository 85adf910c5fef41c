import { AppError, hostReasonForViewers, hostUriPolicyProblem, hostUriProblem, type HostUriPolicy } from "@malleo/core";
import { hostCapacitySet, hostList, hostStatusSet, listenEvents, publishEvent, type Db, type Host } from "@malleo/db";
import { HostConnection, isHypervisorError } from "@malleo/hypervisor";
import type { Logger } from "./log";
import { reconnectDelayMs } from "./reconnect-backoff";

/** A host whose connection is lost or could not be opened, retried with backoff. */
interface HostRetry {
  /** Failed attempts so far (0 before the first retry). */
  attempt: number;
  /** The libvirt error of the last attempt (what the UI shows as the reason). */
  error: string;
  timer: NodeJS.Timeout | undefined;
  nextDelayMs: number;
}

/**
 * The host pool: one libvirt connection per registered host — opened at start, when a host is
 * registered (LISTEN on topology events), and again with backoff after it is lost — each host's
 * status and reason in Postgres, and its URI re-checked against the rules before every attempt.
 */
export class HostPool {
  private readonly hosts = new Map<string, HostConnection>();
  /** Hosts being connected right now (one attempt per host at a time). */
  private readonly connecting = new Map<string, Promise<HostConnection | undefined>>();
  /** Hosts whose stored URI the rules refuse (id → the URI refused), logged once each. */
  private readonly refusedUris = new Map<string, string>();
  /** Hosts lost or never reached, with their reconnect schedule. */
  private readonly retries = new Map<string, HostRetry>();
  private stopWatching: (() => void) | undefined;
  private syncing: Promise<void> | undefined;
  private syncAgain = false;
  private stopped = false;

  constructor(
    private readonly db: Db,
    private readonly opts: {
      /** Readies a freshly opened connection before the host is marked online. */
      prepare: (conn: HostConnection, hostId: string) => Promise<void>;
      /** Postgres URL to LISTEN on: a host registered from the UI or API is connected at once. */
      databaseUrl?: string;
      /**
       * This process's URI rules. A stored host row is checked again before every connection:
       * a row written before the rules existed, or by hand in SQL, is refused rather than opened.
       */
      uriPolicy?: HostUriPolicy;
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
    const refused = hostUriProblem(h.uri) ?? (this.opts.uriPolicy ? hostUriPolicyProblem(h.uri, this.opts.uriPolicy) : null);
    if (refused) {
      await this.hostRefused(h, refused);
      return undefined;
    }
    this.refusedUris.delete(h.id);
    let conn: HostConnection | undefined;
    try {
      conn = await HostConnection.open({ id: h.id, uri: h.uri });
      await this.opts.prepare(conn, h.id);
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

  /**
   * A stored URI these rules refuse: never opened, marked unreachable with the rule's message (it
   * is Malleo's own text, safe for viewers), not retried; editing the host's URI syncs it again.
   */
  private async hostRefused(h: Pick<Host, "id" | "uri" | "status" | "statusReason">, problem: string): Promise<void> {
    const reason = `URI refused: ${problem}`;
    if (this.refusedUris.get(h.id) !== h.uri) this.opts.log({ event: "host URI refused", hostId: h.id, error: problem });
    this.refusedUris.set(h.id, h.uri);
    this.cancelRetry(h.id);
    if (h.status === "unreachable" && h.statusReason === reason) return;
    await hostStatusSet(this.db, h.id, { online: false, reason }).catch(() => undefined);
    await publishEvent(this.db, { type: "topology" }).catch(() => undefined);
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

  /** The stored URI of a host that the URI rules refused (it is never opened), if any. */
  uriRefusal(hostId: string): string | undefined {
    return this.refusedUris.get(hostId);
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

  /** The host's connection, reconnecting once if it is missing. */
  async get(hostId: string): Promise<HostConnection> {
    if (!this.hosts.has(hostId)) await this.connectHosts();
    const h = this.hosts.get(hostId);
    if (!h) throw new AppError("HYPERVISOR_FAILED", `host ${hostId} cannot be reached`, { hostId, unreachable: true });
    return h;
  }

  /** A call that failed because the connection broke: drop it and reconnect with backoff. */
  async noteLostConnection(hostId: string, e: unknown): Promise<void> {
    if (isHypervisorError(e) && (e.code === "HOST_UNREACHABLE" || e.code === "HOST_CLOSED")) await this.drop(hostId, e.message);
  }

  /** Forgets a host whose connection broke; it is reopened with backoff, or by the next connectHosts(). */
  async drop(hostId: string, error = "the libvirt connection broke"): Promise<void> {
    await this.dropConnection(hostId);
    this.scheduleRetry(hostId, error);
  }

  /** Open host connections (hostId → connection). */
  connections(): ReadonlyMap<string, HostConnection> {
    return this.hosts;
  }

  /** Closes every connection and stops retrying. */
  async close(): Promise<void> {
    this.stopped = true;
    this.stopWatching?.();
    for (const id of [...this.retries.keys()]) this.cancelRetry(id);
    await Promise.allSettled([...this.connecting.values(), this.syncing]);
    for (const h of this.hosts.values()) await h.close().catch(() => undefined);
    this.hosts.clear();
  }
}
