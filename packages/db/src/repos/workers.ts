import { randomBytes } from "node:crypto";
import pg from "pg";
import type { Db } from "../client";

/** Advisory-lock namespaces (first key): one lock per executor ID, and the one leader lock. */
const EXECUTOR_LOCKS = 0x4d4c0001;
const LEADER_LOCK = 0x4d4c0002;

// ── The workers table: who runs, where its Mediator listens, who leads ─────────────────────────

export interface WorkerRegistration {
  executorId: string;
  mediatorAddress: string;
  adminUrl: string | null;
  pid: number;
  hostname: string;
}

/** A (re)starting worker's row: standby until it holds the lease. */
export function workerRegister(db: Db, w: WorkerRegistration) {
  const fresh = { ...w, role: "standby" as const, startedAt: new Date(), heartbeatAt: new Date() };
  return db.worker.upsert({
    where: { executorId: w.executorId },
    create: fresh,
    update: { ...fresh, leaderSince: null, stoppedAt: null, takenOverBy: null },
  });
}

export function workerHeartbeat(db: Db, executorId: string, mediatorAddress?: string) {
  return db.worker.update({
    where: { executorId },
    data: { heartbeatAt: new Date(), ...(mediatorAddress ? { mediatorAddress } : {}) },
  });
}

export function workerBecomeLeader(db: Db, executorId: string, mediatorAddress: string) {
  return db.worker.update({
    where: { executorId },
    data: { role: "leader", leaderSince: new Date(), heartbeatAt: new Date(), mediatorAddress },
  });
}

export function workerStopped(db: Db, executorId: string) {
  return db.worker.update({ where: { executorId }, data: { role: "stopped", stoppedAt: new Date() } });
}

/** Workers that heartbeat within `staleMs` and have not stopped (the leader and its standbys). */
export function workerListLive(db: Db, staleMs: number, now = new Date()) {
  return db.worker.findMany({
    where: { stoppedAt: null, role: { in: ["standby", "leader"] }, heartbeatAt: { gte: new Date(now.getTime() - staleMs) } },
    orderBy: { startedAt: "asc" },
  });
}

/**
 * Workers whose process is connected right now: it holds its executor ID's advisory lock (see
 * WorkerLease). Unlike a heartbeat, this turns false the moment a worker's session ends.
 */
export async function workerListConnected(db: Db): Promise<string[]> {
  const rows = await db.$queryRaw<{ executor_id: string }[]>`
    SELECT w.executor_id FROM workers w
    WHERE w.stopped_at IS NULL AND EXISTS (
      SELECT 1 FROM pg_locks l
      WHERE l.locktype = 'advisory' AND l.granted
        AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND l.classid::bigint = ${EXECUTOR_LOCKS}
        AND l.objid::bigint = (hashtext(w.executor_id)::bigint & 4294967295))`;
  return rows.map((r) => r.executor_id);
}

export function workerList(db: Db) {
  return db.worker.findMany({ orderBy: { startedAt: "asc" } });
}

/**
 * Called by a new leader holding the lease: every other worker still recorded as leader lost its
 * lease (it died or was cut off), so it is marked dead and taken over. Returns their executor IDs.
 */
export async function workerTakeOverLeaders(db: Db, newLeader: string): Promise<string[]> {
  const dead = await db.worker.findMany({ where: { role: "leader", executorId: { not: newLeader } } });
  if (dead.length === 0) return [];
  await db.worker.updateMany({
    where: { executorId: { in: dead.map((w) => w.executorId) } },
    data: { role: "dead", stoppedAt: new Date(), takenOverBy: newLeader },
  });
  return dead.map((w) => w.executorId);
}

/** A cluster-wide secret, created once (32 random bytes) and the same for every worker afterwards. */
export async function clusterKeyGet(db: Db, name: string): Promise<Buffer> {
  await db.clusterKey.createMany({ data: [{ name, key: randomBytes(32) }], skipDuplicates: true });
  const row = await db.clusterKey.findUniqueOrThrow({ where: { name } });
  return Buffer.from(row.key);
}

/**
 * Rotated theater secrets of a VM, as SHA-256 digests (never the secrets): its boot secret's and
 * those its theater may prove now, newest first. Kept in `cluster_keys` under
 * `theater-secrets:<vm id>` (boot digest, then the accepted ones, 32 bytes each).
 */
export async function theaterSecretsSave(db: Db, vmId: string, secrets: { boot: Buffer; accepted: Buffer[] }): Promise<void> {
  const name = `theater-secrets:${vmId}`;
  const key = Buffer.concat([secrets.boot, ...secrets.accepted]);
  await db.clusterKey.upsert({ where: { name }, create: { name, key }, update: { key } });
}

export async function theaterSecretsLoad(db: Db, vmId: string): Promise<{ boot: Buffer; accepted: Buffer[] } | null> {
  const row = await db.clusterKey.findUnique({ where: { name: `theater-secrets:${vmId}` } });
  if (!row || row.key.length < 64 || row.key.length % 32 !== 0) return null;
  const key = Buffer.from(row.key);
  const digests = Array.from({ length: key.length / 32 }, (_, i) => key.subarray(i * 32, (i + 1) * 32));
  return { boot: digests[0]!, accepted: digests.slice(1) };
}

// ── The leader lease ────────────────────────────────────────────────────────────────────────────

/**
 * Session advisory locks held on one dedicated connection: the executor ID's (one live process
 * per executor ID) and, once won, the leader's. Postgres releases session locks the moment the
 * holding connection ends, so the lease of a SIGKILLed leader is free as soon as its socket closes.
 */
export class WorkerLease {
  private client: pg.Client | undefined;
  private leading = false;
  private closed = false;
  private regaining = false;
  private deposedHandlers: ((reason: string) => void)[] = [];
  /** One query at a time on the lease connection (the heartbeat's ping and the lock polls share it). */
  private pending: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly url: string,
    private readonly executorId: string,
    private readonly log: (entry: Record<string, unknown>) => void,
  ) {}

  /** Connects and takes the executor ID's lock; refuses if a live process already uses this ID. */
  static async open(url: string, executorId: string, log: (entry: Record<string, unknown>) => void): Promise<WorkerLease> {
    const lease = new WorkerLease(url, executorId, log);
    await lease.connect();
    return lease;
  }

  private async connect(): Promise<pg.Client> {
    const c = new pg.Client({ connectionString: this.url, keepAlive: true });
    c.on("error", (e) => this.log({ event: "lease connection error", error: e.message }));
    await c.connect();
    const { rows } = await c.query<{ ok: boolean }>("SELECT pg_try_advisory_lock($1, hashtext($2)) AS ok", [
      EXECUTOR_LOCKS,
      this.executorId,
    ]);
    if (!rows[0]?.ok) {
      await c.end().catch(() => undefined);
      throw new Error(
        `executor ID ${this.executorId} is in use by another live worker: give each worker its own MALLEO_EXECUTOR_ID`,
      );
    }
    c.on("end", () => {
      if (this.client !== c) return;
      this.client = undefined;
      if (!this.closed && this.leading) void this.regain();
    });
    this.client = c;
    return c;
  }

  private serial<T>(c: pg.Client, sql: string, params: unknown[] = []): Promise<pg.QueryResult<T & pg.QueryResultRow>> {
    const run = this.pending.then(() => c.query<T & pg.QueryResultRow>(sql, params));
    this.pending = run.catch(() => undefined);
    return run;
  }

  private async tryLeaderLock(c: pg.Client): Promise<boolean> {
    const { rows } = await this.serial<{ ok: boolean }>(c, "SELECT pg_try_advisory_lock($1, 0) AS ok", [LEADER_LOCK]);
    return rows[0]?.ok === true;
  }

  /** Resolves once this worker holds the leader lock; polls every `pollMs` (reconnecting if needed). */
  async awaitLeadership(pollMs: number, onWaiting?: () => void): Promise<void> {
    let told = false;
    while (!this.closed) {
      try {
        const c = this.client ?? (await this.connect());
        if (await this.tryLeaderLock(c)) {
          this.leading = true;
          return;
        }
        if (!told) onWaiting?.();
        told = true;
      } catch (e) {
        if (/in use by another live worker/.test((e as Error).message)) throw e;
        this.log({ event: "lease: database unreachable, retrying", error: (e as Error).message });
      }
      await new Promise((r) => setTimeout(r, pollMs));
    }
    throw new Error("lease closed while waiting for leadership");
  }

  /**
   * The leader's connection dropped (a Postgres restart, a network cut): take the locks again.
   * If another worker got the leader lock meanwhile, this one is deposed and must stop leading.
   */
  private async regain(): Promise<void> {
    if (this.regaining) return;
    this.regaining = true;
    this.log({ event: "lease connection lost: regaining the leader lock" });
    try {
      while (!this.closed) {
        try {
          const c = await this.connect();
          if (await this.tryLeaderLock(c)) {
            this.log({ event: "lease regained" });
            return;
          }
          this.leading = false;
          for (const h of this.deposedHandlers) h("another worker took the leader lease while this one was disconnected");
          return;
        } catch (e) {
          if (/in use by another live worker/.test((e as Error).message)) {
            this.leading = false;
            for (const h of this.deposedHandlers) h((e as Error).message);
            return;
          }
          await new Promise((r) => setTimeout(r, 500));
        }
      }
    } finally {
      this.regaining = false;
    }
  }

  /** `handler` runs if the leader lease is lost to another worker (this process must stop leading at once). */
  onDeposed(handler: (reason: string) => void): void {
    this.deposedHandlers.push(handler);
  }

  /** A round trip on the lease connection; a dead connection is closed so that it is noticed. */
  async ping(): Promise<void> {
    const c = this.client;
    if (!c) return;
    await this.serial(c, "SELECT 1").catch(() => c.end().catch(() => undefined));
  }

  get isLeader(): boolean {
    return this.leading;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.leading = false;
    const c = this.client;
    this.client = undefined;
    await c?.end().catch(() => undefined);
  }
}
