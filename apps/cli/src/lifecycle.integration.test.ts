// Each application's whole lifecycle through the `malleo` command, as an operator runs it: the
// CLI's own code (runCli, what main.ts runs) with an operator's API token, against the real API
// served over HTTP (handleApiRequest, with its event stream for `malleo watch`), a real Postgres,
// a real worker with simulated hosts and real theaters. Heat, crawler and PageRank are each
// deployed on one VM, split into two, merged back, stopped, started and deleted; after each step
// the command's JSON and the database agree, and each application's own invariant holds at the end.
// Then PageRank as a registered bundle is upgraded with `malleo upgrade`, rolling and by a restart.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCaller, createEventHub, handleApiRequest, operationDetail, registerBundle, type EventHub } from "@malleo/api";
import { userCreate } from "@malleo/db";
import { createTestDatabase, type TestDatabase } from "@malleo/db/admin";
import {
  crawlerFinished,
  crawlerReachablePaths,
  crawlerTotals,
  heatApplication,
  heatSequential,
  type CrawlerApplicationConfig,
  type CrawlerTotals,
  type HeatConfig,
} from "@malleo/examples";
import { pagerankApplication, pagerankSequential, type PagerankConfig } from "@malleo/pagerank";
import { buildBundle } from "@malleo/sdk/bundle/build";
import { waitFor } from "@malleo/testing";
import { runProcess, type ProcessRun } from "@malleo/testing/process";
import { startTestWorker, type TestWorker } from "@malleo/testing/worker";
import { runCli } from "./cli";
import { serveFetchHandler, type ServedHandler } from "./test-server";

let t: TestDatabase;
let running: TestWorker;
let events: EventHub;
let served: ServedHandler;
let token: string;

type CliRun = ProcessRun;

/** `malleo <argv> --json` in this process, as the operator "otto" with his token. */
async function malleo(...argv: string[]): Promise<CliRun> {
  let stdout = "";
  let stderr = "";
  const code = await runCli([...argv, "--json", "--url", served.url, "--token", token], {
    env: {},
    stdout: (s) => (stdout += s),
    stderr: (s) => (stderr += s),
  });
  return { code, stdout, stderr };
}

/** A command that must succeed: its JSON output. */
async function ok<T = Record<string, unknown>>(...argv: string[]): Promise<T> {
  const r = await malleo(...argv);
  expect(r.stderr, `malleo ${argv.join(" ")}`).toBe("");
  expect(r.code, `malleo ${argv.join(" ")}`).toBe(0);
  return JSON.parse(r.stdout) as T;
}

/** `malleo watch <id> --json` until the operation ends; its last line (the outcome). */
async function watch(id: string): Promise<{ id: string; status: string; error: string | null }> {
  const r = await malleo("watch", id);
  const lines = r.stdout.trim().split("\n");
  const outcome = JSON.parse(lines.at(-1)!) as { id: string; status: string; error: string | null };
  expect(outcome).toEqual({ id, status: "succeeded", error: null });
  expect(r.code).toBe(0);
  return outcome;
}

/** Submits with the CLI, follows it with `malleo watch`; the operation as recorded. */
async function operationThroughCli(kind: string, ...argv: string[]) {
  const accepted = await ok<{ id: string }>(...argv);
  await watch(accepted.id);
  const op = await t.db.operation.findUniqueOrThrow({ where: { id: accepted.id } });
  expect([op.kind, op.status, op.operator]).toEqual([kind, "succeeded", "otto"]);
  return op;
}

interface CliVm {
  id: string;
  name: string;
  hostId: string;
  state: string;
  actors: number;
  lockedBy: string | null;
}

/** The application's VMs as `malleo vms --app` lists them, checked against Postgres and the Mediator. */
async function vmsOf(applicationId: string, actorCount: number): Promise<CliVm[]> {
  const listed = (await ok<CliVm[]>("vms", "--app", applicationId)).sort((a, b) => a.name.localeCompare(b.name));
  expect(listed.every((v) => v.state === "running" && v.lockedBy === null)).toBe(true);
  const actors = await t.db.actor.findMany({ where: { applicationId } });
  expect(actors).toHaveLength(actorCount);
  // Every actor on a listed VM, once; where Postgres places it, the Mediator has it.
  expect(listed.reduce((n, v) => n + v.actors, 0)).toBe(actorCount);
  const placed = new Map(running.worker.mediator.listActors().map((a) => [a.uan, a.vmId]));
  for (const a of actors) expect(placed.get(a.uan), a.uan).toBe(a.vmId);
  expect(new Set(actors.map((a) => a.vmId))).toEqual(new Set(listed.map((v) => v.id)));
  return listed;
}

async function appStatus(applicationId: string): Promise<string | undefined> {
  return (await ok<{ id: string; status: string }[]>("apps")).find((a) => a.id === applicationId)?.status;
}

interface Lifecycle {
  applicationId: string;
  kind: string;
  config: object;
  actors: number;
  host: string;
  /** Waits for the run to end and checks the application's own invariant. */
  invariant(uans: string[]): Promise<void>;
}

/** deploy → split → merge → stop → start → (invariant) → delete, all through the CLI. */
async function lifecycle(app: Lifecycle): Promise<void> {
  const { applicationId: id } = app;
  const deploy = await ok<{ id: string; kind: string; applicationId: string }>(
    "deploy",
    app.kind,
    "--id",
    id,
    "--vms",
    `${app.host}:2:1024`,
    "--config",
    JSON.stringify(app.config),
  );
  expect(deploy).toMatchObject({ kind: "deploy", applicationId: id });
  await watch(deploy.id);
  const history = [deploy.id];
  expect(await appStatus(id)).toBe("running");
  const [deployed, ...none] = await vmsOf(id, app.actors);
  expect(none).toEqual([]);
  expect(deployed).toMatchObject({ hostId: app.host, actors: app.actors });
  const uans = (await t.db.actor.findMany({ where: { applicationId: id }, orderBy: { ordinal: "asc" } })).map((a) => a.uan);
  const operation = async (kind: string, ...argv: string[]) => {
    const op = await operationThroughCli(kind, ...argv);
    history.push(op.id);
    return op;
  };

  await operation("split", "split", deployed!.name, "--hosts", `${app.host},${app.host}`);
  const split = await vmsOf(id, app.actors);
  expect(split.map((v) => [v.hostId, v.actors > 0])).toEqual([
    [app.host, true],
    [app.host, true],
  ]);
  expect((await t.db.vm.findUniqueOrThrow({ where: { id: deployed!.id } })).state).toBe("deleted");

  await operation("merge", "merge", ...split.map((v) => v.name), "--host", app.host);
  const [merged, ...rest] = await vmsOf(id, app.actors);
  expect(rest).toEqual([]);
  expect(merged).toMatchObject({ hostId: app.host, actors: app.actors });

  await operation("stop", "stop", id);
  expect(await appStatus(id)).toBe("stopped");
  expect((await vmsOf(id, app.actors)).map((v) => v.id)).toEqual([merged!.id]);
  await operation("start", "start", id);
  expect(await appStatus(id)).toBe("running");
  expect((await vmsOf(id, app.actors)).map((v) => v.id)).toEqual([merged!.id]);

  await app.invariant(uans);

  await operation("delete", "delete", id);
  expect(await appStatus(id)).toBe("deleted");
  expect(await ok("vms", "--app", id)).toEqual([]);
  const vms = await t.db.vm.findMany({ where: { applicationId: id } });
  expect(vms).toHaveLength(4); // deployed, the two of the split, the merged one
  expect(vms.every((v) => v.state === "deleted")).toBe(true);
  expect((await running.worker.vms.listDomains()).filter((d) => d.name.startsWith(`${id}-`))).toEqual([]);
  expect(await t.db.actor.count({ where: { applicationId: id } })).toBe(0);
  expect(running.worker.mediator.listActors().filter((a) => uans.includes(a.uan))).toEqual([]);
  // Its history is kept: every operation, in order, each succeeded.
  const kept = await t.db.operation.findMany({ where: { id: { in: history } }, orderBy: { createdAt: "asc" } });
  expect(kept.map((o) => `${o.kind}:${o.status}`)).toEqual([
    "deploy:succeeded",
    "split:succeeded",
    "merge:succeeded",
    "stop:succeeded",
    "start:succeeded",
    "delete:succeeded",
  ]);
}

/**
 * Waits until the application's slowest actor has done its last iteration, then checks that the
 * result assembled from its actors' states is bit-identical to the sequential reference.
 */
async function endsBitIdentical(
  applicationId: string,
  uans: string[],
  maxIterations: number,
  result: (states: Map<string, unknown>) => unknown,
  reference: Float64Array,
): Promise<void> {
  await waitFor(
    `${applicationId} at its last iteration`,
    async () =>
      (await t.db.application.findUniqueOrThrow({ where: { id: applicationId } })).iteration === maxIterations ? true : undefined,
    { timeoutMs: 300_000 },
  );
  const a = result(await running.worker.mediator.collectStates(uans)) as Float64Array;
  expect(Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(reference.buffer))).toBe(true);
}

const HEAT: HeatConfig = { width: 24, height: 16, actors: 4, maxIterations: 1500, iterationDelayMs: 5 };
const RANKS: PagerankConfig = {
  nodes: 400,
  partitions: 4,
  maxOutDegree: 5,
  seed: 7,
  damping: 0.85,
  maxIterations: 1500,
  iterationDelayMs: 5,
};
/** Six operations and the run to its end: a deadline for a failing test only. */
const LIFECYCLE_TIMEOUT_MS = 600_000;
const SITE = { pages: 300, slowEvery: 3, slowMs: 40 };
const CRAWL: CrawlerApplicationConfig = { ...SITE, partitions: 4, politeness: 1, sitePort: 0 };

beforeAll(async () => {
  t = await createTestDatabase();
  running = await startTestWorker(t, {
    name: "cli-lifecycle",
    // A theater's boot is given long on a loaded machine (three apps' theaters boot at once).
    env: { MALLEO_CHECKPOINT_MS: "0", MALLEO_RECONCILE_MS: "600000", MALLEO_THEATER_TIMEOUT_MS: "120000" },
  });
  const ada = await userCreate(t.db, { name: "ada", role: "admin", passwordHash: "unused" });
  const otto = await userCreate(t.db, { name: "otto", role: "operator", passwordHash: "unused" });
  events = createEventHub(t.url, { loadOperation: (id) => operationDetail(t.db, id) });
  const admin = createCaller({
    db: t.db,
    events,
    headers: new Headers(),
    user: { id: ada.id, name: "ada", role: "admin", via: "session" },
  });
  token = (await admin.users.createToken({ userId: otto.id, name: "otto-cli" })).secret;
  served = await serveFetchHandler((req) => handleApiRequest(req, { db: t.db, events }));
}, 120_000);

afterAll(async () => {
  await served?.close();
  await running?.stop();
  await t?.drop();
});

describe("an application's lifecycle through the CLI", () => {
  it("refuses a configuration its schema refuses and an unknown application (exit status 1, the server's reason) and a mistyped --vms (exit status 2); nothing changes", async () => {
    const before = [await t.db.application.count(), await t.db.operation.count(), await t.db.vm.count()];
    // The real command, as an operator types it: bin/malleo in a process of its own.
    const child = await runProcess(
      fileURLToPath(new URL("../bin/malleo", import.meta.url)),
      ["deploy", "pagerank", "--id", "bad", "--vms", "pm-1:1:512", "--config", '{"damping":2}', "--json"],
      { env: { ...process.env, MALLEO_URL: served.url, MALLEO_TOKEN: token } },
    );
    expect(child.stdout).toBe("");
    expect(child.code).toBe(1);
    const refusal = JSON.parse(child.stderr) as { error: { message: string; code: string } };
    expect(refusal.error.message).toMatch(/^the pagerank configuration is invalid: damping: /);
    expect(refusal.error.code).toBe("BAD_REQUEST");

    const unknown = await malleo("start", "nowhere");
    expect([unknown.code, unknown.stdout]).toEqual([1, ""]);
    expect(JSON.parse(unknown.stderr)).toMatchObject({ error: { message: "application nowhere does not exist" } });
    const mistyped = await malleo("deploy", "heat", "--id", "x", "--vms", "pm-1:two:512");
    expect(mistyped.code).toBe(2);
    expect(JSON.parse(mistyped.stderr).error.message).toMatch(/^--vms takes HOST:VCPUS:MEMORY_MIB per VM/);
    expect([await t.db.application.count(), await t.db.operation.count(), await t.db.vm.count()]).toEqual(before);
  });

  // The three run at once, each on its own host (their operations are independent).
  it.concurrent(
    "heat: deployed, split, merged, stopped, started and deleted; its grid is bit-identical to the sequential run",
    () =>
      lifecycle({
        applicationId: "warm",
        kind: "heat",
        config: HEAT,
        actors: HEAT.actors,
        host: "pm-1",
        invariant: (uans) =>
          endsBitIdentical(
            "warm",
            uans,
            HEAT.maxIterations!,
            (states) => heatApplication.result!(HEAT, states),
            heatSequential(HEAT.width, HEAT.height, HEAT.maxIterations!),
          ),
      }),
    LIFECYCLE_TIMEOUT_MS,
  );

  it.concurrent(
    "crawler: deployed, split, merged, stopped, started and deleted; every reachable URL fetched exactly once",
    () =>
      lifecycle({
        applicationId: "crawl",
        kind: "crawler",
        config: CRAWL,
        actors: CRAWL.partitions,
        host: "pm-2",
        invariant: async (uans) => {
          let previous: CrawlerTotals | null = null;
          const totals = await waitFor(
            "the crawl to finish",
            async () => {
              const current = crawlerTotals((await running.worker.mediator.collectStates(uans)).values());
              const finished = crawlerFinished(previous, current);
              previous = current;
              return finished ? current : undefined;
            },
            { timeoutMs: 300_000, intervalMs: 200 },
          );
          expect(totals.fetched).toBe(crawlerReachablePaths(SITE).size);
          expect(totals.sent).toBe(totals.received);
        },
      }),
    LIFECYCLE_TIMEOUT_MS,
  );

  it.concurrent(
    "pagerank: deployed, split, merged, stopped, started and deleted; its ranks are bit-identical to the reference",
    () =>
      lifecycle({
        applicationId: "ranks",
        kind: "pagerank",
        config: RANKS,
        actors: RANKS.partitions,
        host: "pm-3",
        invariant: (uans) =>
          endsBitIdentical(
            "ranks",
            uans,
            RANKS.maxIterations!,
            (states) => pagerankApplication.result!(RANKS, states),
            pagerankSequential(RANKS, RANKS.maxIterations!),
          ),
      }),
    LIFECYCLE_TIMEOUT_MS,
  );

  it(
    "a bundle application upgraded with `malleo upgrade`: rolling onto new VMs, then a restart back; a mistyped --strategy is refused (exit 2), nothing changed; its ranks end bit-identical",
    async () => {
      // ranks 2.0.0 and 2.1.0 (the same state format), registered as an admin would.
      const dir = mkdtempSync(path.join(os.tmpdir(), "malleo-cli-upgrade-"));
      const root = fileURLToPath(new URL("../../../", import.meta.url));
      for (const [src, name] of [
        ["applications/pagerank/test-fixtures/ranks-bundle.ts", "ranks-2.0.0"],
        ["scripts/chaos-fixtures/ranks-2.1.ts", "ranks-2.1.0"],
      ] as const) {
        const file = path.join(dir, `${name}.mjs`);
        await buildBundle(path.join(root, src), file);
        await registerBundle(t.db, readFileSync(file), "ada");
      }
      rmSync(dir, { recursive: true, force: true });
      const id = "rolled";
      const deploy = await ok<{ id: string }>(
        "deploy",
        "ranks",
        "--id",
        id,
        "--version",
        "2.0.0",
        "--vms",
        "pm-2:2:1024,pm-3:2:1024",
        "--config",
        JSON.stringify(RANKS),
      );
      await watch(deploy.id);
      const before = await vmsOf(id, RANKS.partitions);
      const uans = (await t.db.actor.findMany({ where: { applicationId: id }, orderBy: { ordinal: "asc" } })).map((a) => a.uan);
      const version = async () => (await t.db.application.findUniqueOrThrow({ where: { id } })).bundleVersion;

      // Refused before anything is sent (exit 2), and by the server (exit 1): nothing changes.
      const opsBefore = await t.db.operation.count();
      const mistyped = await malleo("upgrade", id, "2.1.0", "--strategy", "sideways");
      expect(mistyped.code).toBe(2);
      expect(JSON.parse(mistyped.stderr).error.message).toMatch(/^--strategy is rolling .* or restart .*, not sideways$/);
      expect(await t.db.operation.count()).toBe(opsBefore);

      // Rolling (the default for the same format): new VMs, one beside each, every actor moved to them.
      const rolled = await ok<{ id: string; strategy: string }>("upgrade", id, "2.1.0");
      expect(rolled.strategy).toBe("rolling");
      await watch(rolled.id);
      expect(await version()).toBe("2.1.0");
      const after = await vmsOf(id, RANKS.partitions);
      expect(after.map((v) => v.hostId)).toEqual(before.map((v) => v.hostId));
      expect(after.some((v) => before.some((b) => b.id === v.id))).toBe(false);
      const steps = await t.db.operationStep.findMany({ where: { operationId: rolled.id }, orderBy: { id: "asc" } });
      expect(steps.map((st) => st.name)).toEqual(["validate", "provision", "checkpoint", "transfer", "cleanup"]);

      // A restart back to 2.0.0, asked for by name: the same VMs, restarted.
      const restarted = await ok<{ id: string; strategy: string }>("upgrade", id, "2.0.0", "--strategy", "restart");
      expect(restarted.strategy).toBe("restart");
      await watch(restarted.id);
      expect(await version()).toBe("2.0.0");
      expect((await vmsOf(id, RANKS.partitions)).map((v) => v.id)).toEqual(after.map((v) => v.id));

      await endsBitIdentical(
        id,
        uans,
        RANKS.maxIterations!,
        (states) => pagerankApplication.result!(RANKS, states),
        pagerankSequential(RANKS, RANKS.maxIterations!),
      );
      await operationThroughCli("delete", "delete", id);
      expect((await running.worker.vms.listDomains()).filter((d) => d.name.startsWith(`${id}-`))).toEqual([]);
    },
    LIFECYCLE_TIMEOUT_MS,
  );
});
