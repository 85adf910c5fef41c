// Failure mode: two workers run against one Postgres, each with its own executor ID, Mediator
// and admin port; the leader is killed (SIGKILL of the real process) in the middle of a split.
// The standby wins the lease, adopts the theaters (they fail over to its Mediator), resumes the
// workflow the dead executor left pending, and the operation still finishes — with nothing lost.
import type { ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { databaseUrl } from "@malleo/db/admin";
import { createTestDatabase, type TestDatabase } from "@malleo/db/admin";
import { heatSequential, type HeatConfig } from "@malleo/examples";
import { submitSplit } from "@malleo/workflows";
import { seedApplicationVm, seedSimulatedHosts, waitFor } from "@malleo/testing";
import { getJson, processExited, spawnWorkerProcess, stopWorkerProcess, sweepTheaters } from "../../../scripts/worker-process";
import { loadWorkerEnv } from "./env";

const HEAT: HeatConfig = { width: 48, height: 32, actors: 8, maxIterations: 1500, iterationDelayMs: 2 };
const A = { id: "worker-a", mediator: 23010, admin: 23011 };
const B = { id: "worker-b", mediator: 23020, admin: 23021 };

let t: TestDatabase;
let dataDir: string;
let workerA: ChildProcess | undefined;
let workerB: ChildProcess | undefined;

beforeAll(async () => {
  t = await createTestDatabase({ systemDatabase: true });
  dataDir = mkdtempSync(path.join(os.tmpdir(), "malleo-two-workers-"));
  mkdirSync(path.join(dataDir, "logs"), { recursive: true });
  await seedSimulatedHosts(t.db, dataDir);
  await seedApplicationVm(t.db, {
    applicationId: "heat",
    kind: "heat",
    config: HEAT,
    vm: { name: "heat-1", hostId: "pm-1", vcpus: 4, memoryMiB: 8192 },
  });
});

afterAll(async () => {
  await Promise.all([stopWorkerProcess(workerA), stopWorkerProcess(workerB)]);
  sweepTheaters(dataDir);
  // The workers created DBOS's sibling system database; it goes with the test's.
  const system = new URL(loadWorkerEnv({ DATABASE_URL: t.url }).systemDatabaseUrl).pathname.slice(1);
  await t?.drop();
  const admin = new pg.Client({ connectionString: databaseUrl(t.url, "postgres") });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS "${system}" WITH (FORCE)`);
  await admin.end();
  rmSync(dataDir, { recursive: true, force: true });
});

/** Environment of one of the two workers: same database and data directory, own identity and ports. */
function workerEnv(w: typeof A, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    DATABASE_URL: t.url,
    MALLEO_DATA_DIR: dataDir,
    MALLEO_EXECUTOR_ID: w.id,
    MALLEO_MEDIATOR_PORT: String(w.mediator),
    MALLEO_WORKER_ADMIN_PORT: String(w.admin),
    MALLEO_CLUSTER_MEDIATORS: `127.0.0.1:${A.mediator},127.0.0.1:${B.mediator}`,
    MALLEO_POLL_MS: "200",
    MALLEO_HEARTBEAT_MS: "500",
    ...extra,
  };
}

const workerRow = (executorId: string) => t.db.worker.findUnique({ where: { executorId } });

describe("two workers on one Postgres", () => {
  it("the leader is killed after Provision of a split: the standby takes over and the split succeeds, nothing lost", async () => {
    // Worker A leads (it starts first); it kills itself (SIGKILL) once Provision has created the targets.
    workerA = spawnWorkerProcess(workerEnv(A, { MALLEO_CHAOS_CRASH_AT: "provision:after" }), path.join(dataDir, "logs/a.log"));
    await waitFor("worker A to lead", () => getJson(A.admin, "/healthz"), { intervalMs: 150, ignoreErrors: true });
    workerB = spawnWorkerProcess(workerEnv(B), path.join(dataDir, "logs/b.log"));
    await waitFor("worker B to stand by", async () => ((await workerRow(B.id))?.role === "standby" ? true : undefined));
    expect((await workerRow(A.id))?.role).toBe("leader");
    await waitFor("heat to start", async () =>
      (await t.db.application.findUniqueOrThrow({ where: { id: "heat" } })).iteration > 0 ? true : undefined,
    );

    const source = await t.db.vm.findFirstOrThrow({ where: { applicationId: "heat", state: "running" } });
    const op = await submitSplit(t.db, { vmId: source.id, count: 2, targetHostIds: ["pm-2", "pm-3"] }, "tester");
    expect(await processExited(workerA)).toBe("SIGKILL");

    const done = await waitFor(
      "the split to end",
      async () => {
        const o = await t.db.operation.findUniqueOrThrow({
          where: { id: op.id },
          include: { steps: { orderBy: { id: "asc" } } },
        });
        return ["succeeded", "failed", "rolled_back"].includes(o.status) ? o : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 200 },
    );
    expect(done.status, done.error ?? "").toBe("succeeded");
    // Provision ran once under A (killed before it was recorded) and again, idempotently, under B.
    expect(done.steps.filter((s) => s.name === "provision").map((s) => s.attempt)).toEqual([1, 2]);
    // The attempt the kill interrupted is closed as failed when the step runs again, not left running.
    expect(done.steps.filter((s) => s.name === "provision").map((s) => [s.status, s.error])).toEqual([
      ["failed", "interrupted by a worker restart"],
      ["succeeded", null],
    ]);
    expect(done.steps.filter((s) => s.status === "running")).toEqual([]);
    expect(done.steps.at(-1)).toMatchObject({ name: "cleanup", status: "succeeded" });

    // B leads now and recorded the takeover; the workflow ended under B's executor ID.
    expect(await workerRow(A.id)).toMatchObject({ role: "dead", takenOverBy: B.id });
    expect((await workerRow(B.id))?.role).toBe("leader");
    const sys = new pg.Client({ connectionString: loadWorkerEnv({ DATABASE_URL: t.url }).systemDatabaseUrl });
    await sys.connect();
    const wf = await sys.query<{ executor_id: string; status: string }>(
      "SELECT executor_id, status FROM dbos.workflow_status WHERE workflow_uuid = $1",
      [op.id],
    );
    await sys.end();
    expect(wf.rows).toEqual([{ executor_id: B.id, status: "SUCCESS" }]);

    await waitFor(
      "heat to finish",
      async () =>
        (await t.db.application.findUniqueOrThrow({ where: { id: "heat" } })).iteration >= HEAT.maxIterations! ? true : undefined,
      { timeoutMs: 120_000, intervalMs: 200 },
    );

    // No actor lost or duplicated: each is hosted once, on the VM Postgres records.
    const inventory = await getJson<{ domains: { name: string }[]; actors: { uan: string; vmId: string }[] }>(
      B.admin,
      "/inventory",
    );
    const rows = await t.db.actor.findMany({ where: { applicationId: "heat" } });
    expect(inventory.actors).toHaveLength(HEAT.actors);
    expect(new Set(inventory.actors.map((a) => a.uan)).size).toBe(HEAT.actors);
    expect(new Map(inventory.actors.map((a) => [a.uan, a.vmId]))).toEqual(new Map(rows.map((r) => [r.uan, r.vmId])));

    // The two targets run; the source is gone: domains are exactly the live rows, no lock is left.
    const live = await t.db.vm.findMany({ where: { state: { not: "deleted" } } });
    expect(live.map((v) => v.id).sort()).toEqual([...new Set(rows.map((r) => r.vmId))].sort());
    expect(live).toHaveLength(2);
    expect(inventory.domains.map((d) => d.name).sort()).toEqual(live.map((v) => v.name).sort());
    expect(live.filter((v) => v.state !== "running" || v.lockedBy !== null)).toEqual([]);

    // The heat grid is bit-identical to the sequential kernel's.
    const digest = await getJson<{ actors: number; sha256: string }>(B.admin, "/applications/heat/digest");
    expect(digest.sha256).toBe(expectedDigest());

    // The theater records hold per-VM secrets: the worker's user alone reads them.
    const recordDir = path.join(dataDir, "theaters");
    expect(statSync(recordDir).mode & 0o777).toBe(0o700);
    const records = readdirSync(recordDir).filter((f) => f.endsWith(".json"));
    expect(records.length).toBeGreaterThan(0);
    for (const file of records) expect(statSync(path.join(recordDir, file)).mode & 0o777).toBe(0o600);
  });

  it("the leader stopped gracefully while a standby lives hands over: the theaters keep running and are adopted", async () => {
    // B leads (it took over above); A comes back, now as the standby.
    workerA = spawnWorkerProcess(workerEnv(A), path.join(dataDir, "logs/a.log"));
    await waitFor("worker A to stand by", async () => ((await workerRow(A.id))?.role === "standby" ? true : undefined));
    const before = theaterPids();
    expect(before.size).toBe(2);

    await stopWorkerProcess(workerB);
    expect(await processExited(workerB!)).toBe("0");
    await waitFor("worker A to lead", () => getJson(A.admin, "/healthz"), { intervalMs: 150, ignoreErrors: true });
    expect(await workerRow(B.id)).toMatchObject({ role: "stopped", takenOverBy: null });
    expect((await workerRow(A.id))?.role).toBe("leader");

    // The same theater processes, adopted, with every actor where Postgres records it and the same grid.
    expect(theaterPids()).toEqual(before);
    for (const pid of before.values()) expect(() => process.kill(pid, 0)).not.toThrow();
    const inventory = await getJson<{ actors: { uan: string; vmId: string }[] }>(A.admin, "/inventory");
    const rows = await t.db.actor.findMany({ where: { applicationId: "heat" } });
    expect(new Map(inventory.actors.map((a) => [a.uan, a.vmId]))).toEqual(new Map(rows.map((r) => [r.uan, r.vmId])));
    const digest = await getJson<{ actors: number; sha256: string }>(A.admin, "/applications/heat/digest");
    expect(digest.sha256).toBe(expectedDigest());
  });
});

function expectedDigest(): string {
  const reference = heatSequential(HEAT.width, HEAT.height, HEAT.maxIterations!);
  return createHash("sha256").update(Buffer.from(reference.buffer)).digest("hex");
}

/** vmId → pid of each theater recorded under the shared data directory. */
function theaterPids(): Map<string, number> {
  const dir = path.join(dataDir, "theaters");
  return new Map(
    readdirSync(dir).map((f) => {
      const r = JSON.parse(readFileSync(path.join(dir, f), "utf8")) as { vmId: string; pid: number };
      return [r.vmId, r.pid];
    }),
  );
}
