// The leader lease of several workers on one Postgres (packages/db repos/workers.ts), against
// the real server: one live process per executor ID, one leader at a time, the lease passing to
// a standby when the leader's connection ends, and a leader cut off while another took the lease
// being told to stop leading.
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { workerListConnected, WorkerLease, workerRegister } from "@malleo/db";
import { createTestDatabase, type TestDatabase } from "@malleo/db/admin";
import { waitFor } from "@malleo/testing";

let t: TestDatabase;
const opened: WorkerLease[] = [];
const quiet = () => {};
async function open(executorId: string): Promise<WorkerLease> {
  const lease = await WorkerLease.open(t.url, executorId, quiet);
  opened.push(lease);
  return lease;
}

beforeAll(async () => {
  t = await createTestDatabase();
});

afterAll(async () => {
  for (const l of opened) await l.close();
  await t?.drop();
});

/** The backend pids holding the leader lock (namespace 0x4d4c0002): at most one. */
async function leaderBackends(c: pg.Client): Promise<number[]> {
  const { rows } = await c.query<{ pid: number }>(
    "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND classid = $1 AND objid = 0 AND granted",
    [0x4d4c0002],
  );
  return rows.map((r) => r.pid);
}

describe("worker lease", () => {
  it("refuses a second live process with the same executor ID, naming the setting to change", async () => {
    await open("lease-same-id");
    await expect(WorkerLease.open(t.url, "lease-same-id", quiet)).rejects.toThrow(
      "executor ID lease-same-id is in use by another live worker: give each worker its own MALLEO_EXECUTOR_ID",
    );
  });

  it("a worker counts as connected exactly while its process holds its executor ID's lock", async () => {
    const row = { mediatorAddress: "127.0.0.1:1", adminUrl: null, pid: 1, hostname: "h" };
    await workerRegister(t.db, { ...row, executorId: "conn-a" });
    await workerRegister(t.db, { ...row, executorId: "conn-b" });
    const a = await open("conn-a");
    const b = await open("conn-b");
    expect((await workerListConnected(t.db)).filter((id) => id.startsWith("conn-")).sort()).toEqual(["conn-a", "conn-b"]);
    // A session's locks go when its backend has ended, just after the client's socket closed.
    const connectedNow = async (want: string) => {
      const ids = (await workerListConnected(t.db)).filter((id) => id.startsWith("conn-")).join(",");
      return ids === want ? ids : undefined;
    };
    await a.close();
    expect(await waitFor("conn-a to drop", () => connectedNow("conn-b"))).toBe("conn-b");
    await b.close();
    expect(await waitFor("conn-b to drop", () => connectedNow(""))).toBe("");
  });

  it("one leader at a time; the standby leads as soon as the leader's connection ends", async () => {
    const a = await open("lease-a");
    const b = await open("lease-b");
    await a.awaitLeadership(50);
    let bLeads = false;
    let waiting = false;
    const bWon = b.awaitLeadership(50, () => (waiting = true)).then(() => (bLeads = true));
    await waitFor("B to stand by", async () => (waiting ? true : undefined));
    expect(a.isLeader).toBe(true);
    expect(bLeads).toBe(false);
    await a.close(); // as a SIGKILL would: the session ends, Postgres frees its locks
    await bWon;
    expect(b.isLeader).toBe(true);
    await b.close();
  });

  it("a leader cut off from Postgres while another worker took the lease is deposed", async () => {
    const a = await open("lease-cut");
    await a.awaitLeadership(50);
    const deposed = new Promise<string>((r) => a.onDeposed(r));
    const admin = new pg.Client({ connectionString: t.url });
    const rival = new pg.Client({ connectionString: t.url });
    await Promise.all([admin.connect(), rival.connect()]);
    const [pid] = await leaderBackends(admin);
    expect(pid).toBeDefined();
    // A rival queues for the leader lock; then the leader's connection is cut. Postgres grants the
    // lock to the queued rival as the leader's session ends, before the leader can come back.
    const rivalLocked = rival.query("SELECT pg_advisory_lock($1, 0)", [0x4d4c0002]);
    await waitFor("the rival to queue for the lock", async () => {
      const { rows } = await admin.query(
        "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND classid = $1 AND NOT granted",
        [0x4d4c0002],
      );
      return rows.length > 0 ? true : undefined;
    });
    await admin.query("SELECT pg_terminate_backend($1)", [pid]);
    await rivalLocked;
    expect(await deposed).toMatch(/another worker took the leader lease/);
    expect(a.isLeader).toBe(false);
    await Promise.all([admin.end(), rival.end()]);
  });

  it("a leader whose connection drops with nobody waiting takes the lease back", async () => {
    const a = await open("lease-regain");
    await a.awaitLeadership(50);
    const admin = new pg.Client({ connectionString: t.url });
    await admin.connect();
    const [pid] = await leaderBackends(admin);
    await admin.query("SELECT pg_terminate_backend($1, 5000)", [pid]);
    const held = await waitFor("the leader lock to be held again", async () => {
      const now = await leaderBackends(admin);
      return now.length > 0 && now[0] !== pid ? now : undefined;
    });
    expect(held).toHaveLength(1);
    expect(held[0]).not.toBe(pid);
    expect(a.isLeader).toBe(true);
    await admin.end();
  });
});
