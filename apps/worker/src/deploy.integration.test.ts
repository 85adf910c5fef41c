// Deploying an application through the API (operator role, audited, validated by the
// application's own schema, capacity checked as for a split), run by a real worker as a `deploy`
// operation: validate → provision → spawn. The deployed PageRank is then split and merged like any
// application, and its ranks end bit-identical to the sequential reference.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCaller, createEventHub } from "@malleo/api";
import { createTestDatabase, type TestDatabase } from "@malleo/db/admin";
import { pagerankApplication, pagerankSequential, type PagerankConfig } from "@malleo/pagerank";
import { submitMerge, submitSplit } from "@malleo/workflows";
import { waitFor, waitForOperationEnd } from "@malleo/testing";
import { startTestWorker, type TestWorker } from "@malleo/testing/worker";
import type { RunningWorker } from "./worker";

const PAGERANK: PagerankConfig = {
  nodes: 3000,
  partitions: 8,
  maxOutDegree: 6,
  seed: 11,
  damping: 0.85,
  maxIterations: 1500,
  iterationDelayMs: 10,
};

let t: TestDatabase;
let running: TestWorker;
let worker: RunningWorker;

const as = (role: "viewer" | "operator") =>
  createCaller({
    db: t.db,
    events: createEventHub("postgres://unused"),
    headers: new Headers(),
    user: { id: randomUUID(), name: `the-${role}`, role, via: "token" },
  });

const deployRequest = (overrides: Record<string, unknown> = {}) => ({
  applicationId: "ranks",
  kind: "pagerank",
  config: PAGERANK,
  vms: [
    { hostId: "pm-1", vcpus: 2, memoryMiB: 2048 },
    { hostId: "pm-2", vcpus: 2, memoryMiB: 2048 },
  ],
  ...overrides,
});

async function refusal(p: Promise<unknown>): Promise<string> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err as Error,
  );
  expect(e, "expected a refusal").toBeDefined();
  return e!.message;
}

async function nothingChanged(): Promise<void> {
  expect(await t.db.operation.count()).toBe(0);
  expect(await t.db.application.count()).toBe(0);
  expect(await t.db.vm.count()).toBe(0);
}

beforeAll(async () => {
  t = await createTestDatabase({ systemDatabase: true });
  running = await startTestWorker(t, { name: "deploy" });
  worker = running.worker;
});

afterAll(async () => {
  await running?.stop();
  await t?.drop();
});

describe("deploying an application", () => {
  it("lists the installed kinds with a configuration their schema accepts", async () => {
    const kinds = await as("viewer").applications.kinds();
    expect(kinds.map((k) => k.kind)).toEqual(["crawler", "heat", "pagerank"]);
    expect(kinds.find((k) => k.kind === "pagerank")?.defaultConfig).toEqual(pagerankApplication.defaultConfig);
  });

  it("refuses a viewer, an unknown kind, a configuration its schema refuses and a deploy beyond capacity, changing nothing", async () => {
    expect(await refusal(as("viewer").applications.deploy(deployRequest()))).toMatch(/operator/);
    expect(await refusal(as("operator").applications.deploy(deployRequest({ kind: "weather" })))).toBe(
      'no application of kind "weather" is installed (installed: crawler, heat, pagerank)',
    );
    expect(await refusal(as("operator").applications.deploy(deployRequest({ config: { ...PAGERANK, damping: 2 } })))).toMatch(
      /^the pagerank configuration is invalid: damping: /,
    );
    expect(await refusal(as("operator").applications.deploy(deployRequest({ version: "9.9.9" })))).toBe(
      "version 9.9.9 of pagerank is not installed (installed: 1.0.0)",
    );
    // pm-2 has 8 CPUs: two 6-vCPU VMs do not fit.
    const tooBig = deployRequest({
      vms: [
        { hostId: "pm-2", vcpus: 6, memoryMiB: 1024 },
        { hostId: "pm-2", vcpus: 6, memoryMiB: 1024 },
      ],
    });
    expect(await refusal(as("operator").applications.deploy(tooBig))).toMatch(/pm-2/);
    expect(await refusal(as("operator").applications.deploy(deployRequest({ vms: [] })))).toMatch(/at least 1 VM/);
    await nothingChanged();
    // Each refusal is audited, with who asked.
    const audited = await t.db.auditEvent.findMany({ where: { procedure: "applications.deploy" } });
    expect(audited).toHaveLength(6);
    expect(audited.every((a) => !a.ok && a.actor.startsWith("the-"))).toBe(true);
  });

  // Found a lost message once (1 run in 4): a source theater stopping at Clean up welcomed a peer
  // that finished its handshake after the goodbyes, took its message and exited before forwarding
  // it. A stopping theater now refuses such a link (its dialer routes through the Mediator).
  it("deploys PageRank on two new VMs; split and merged, its ranks are bit-identical to the reference", async () => {
    const accepted = await as("operator").applications.deploy(deployRequest());
    expect(accepted.kind).toBe("deploy");
    const op = await waitForOperationEnd(t.db, accepted.id, { timeoutMs: 60_000 });
    expect(op.error).toBeNull();
    expect(op.status).toBe("succeeded");
    expect(op.operator).toBe("the-operator");
    const steps = await t.db.operationStep.findMany({ where: { operationId: op.id }, orderBy: { id: "asc" } });
    expect(steps.map((s) => `${s.name}:${s.status}`)).toEqual(["validate:succeeded", "provision:succeeded", "spawn:succeeded"]);
    // The application's layout: contiguous halves, on running unlocked VMs.
    const vms = await t.db.vm.findMany({
      where: { applicationId: "ranks" },
      include: { actors: true },
      orderBy: { name: "asc" },
    });
    expect(vms.map((v) => [v.name, v.hostId, v.state, v.lockedBy, v.actors.length])).toEqual([
      ["ranks-1", "pm-1", "running", null, 4],
      ["ranks-2", "pm-2", "running", null, 4],
    ]);
    const uans = (await t.db.actor.findMany({ where: { applicationId: "ranks" }, orderBy: { ordinal: "asc" } })).map(
      (a) => a.uan,
    );
    expect(new Map(worker.mediator.listActors().map((a) => [a.uan, a.vmId]))).toEqual(
      new Map(vms.flatMap((v) => v.actors.map((a) => [a.uan, v.id]))),
    );
    expect(await refusal(as("operator").applications.deploy(deployRequest()))).toMatch(/an application ranks already exists/);

    // Running: progress reaches Postgres. Then it is split and merged like any application.
    await waitFor("progress recorded", async () =>
      (await t.db.application.findUniqueOrThrow({ where: { id: "ranks" } })).iteration > 5 ? true : undefined,
    );
    const split = await submitSplit(t.db, { vmId: vms[0]!.id, count: 2, targetHostIds: ["pm-1", "pm-3"] }, "test");
    expect((await waitForOperationEnd(t.db, split.id, { timeoutMs: 60_000 })).status).toBe("succeeded");
    const running = await t.db.vm.findMany({ where: { applicationId: "ranks", state: "running" }, orderBy: { name: "asc" } });
    expect(running).toHaveLength(3);
    // Mid-run: the merge is submitted before the last iteration.
    expect((await t.db.application.findUniqueOrThrow({ where: { id: "ranks" } })).iteration).toBeLessThan(
      PAGERANK.maxIterations!,
    );
    const merge = await submitMerge(t.db, { vmIds: running.map((v) => v.id), targetHostId: "pm-1", transfer: "barrier" }, "test");
    expect((await waitForOperationEnd(t.db, merge.id, { timeoutMs: 60_000 })).status).toBe("succeeded");

    await waitFor(
      "every partition at the last iteration",
      async () =>
        (await t.db.application.findUniqueOrThrow({ where: { id: "ranks" } })).iteration === PAGERANK.maxIterations
          ? true
          : undefined,
      { timeoutMs: 120_000 },
    );
    const ranks = pagerankApplication.result!(PAGERANK, await worker.mediator.collectStates(uans)) as Float64Array;
    const expected = pagerankSequential(PAGERANK, PAGERANK.maxIterations!);
    expect(Buffer.from(ranks.buffer, ranks.byteOffset, ranks.byteLength).equals(Buffer.from(expected.buffer))).toBe(true);
  });
});

describe("stopping, starting and deleting an application", () => {
  const RUNNING: PagerankConfig = { ...PAGERANK, nodes: 1000, partitions: 4, maxIterations: null, iterationDelayMs: 10 };
  let uans: string[] = [];
  const iterations = async () =>
    [...(await worker.mediator.collectStates(uans)).values()].map((s) => (s as { iteration: number }).iteration);
  const run = async (p: Promise<{ id: string }>) => {
    const op = await waitForOperationEnd(t.db, (await p).id, { timeoutMs: 60_000 });
    expect(op.error).toBeNull();
    return op;
  };

  it("stop holds every actor where it is, start resumes them; each refused from the wrong status", async () => {
    await run(
      as("operator").applications.deploy({
        applicationId: "loop",
        kind: "pagerank",
        config: RUNNING,
        vms: [{ hostId: "pm-3", vcpus: 2, memoryMiB: 2048 }],
      }),
    );
    uans = (await t.db.actor.findMany({ where: { applicationId: "loop" } })).map((a) => a.uan);
    expect(await refusal(as("operator").applications.start({ applicationId: "loop" }))).toBe(
      "application loop is running; it can be started only when stopped",
    );
    expect(await refusal(as("viewer").applications.stop({ applicationId: "loop" }))).toMatch(/operator/);
    expect(await refusal(as("operator").applications.stop({ applicationId: "nope" }))).toBe("application nope does not exist");

    const stopped = await run(as("operator").applications.stop({ applicationId: "loop" }));
    expect(stopped.status).toBe("succeeded");
    expect((await t.db.application.findUniqueOrThrow({ where: { id: "loop" } })).status).toBe("stopped");
    expect((await t.db.vm.findMany({ where: { applicationId: "loop" } })).map((v) => [v.state, v.lockedBy])).toEqual([
      ["running", null],
    ]);
    // Held: over a window in which the running application made about 30 iterations, none advanced.
    const held = await iterations();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await iterations()).toEqual(held);
    expect(await refusal(as("operator").applications.stop({ applicationId: "loop" }))).toMatch(
      /is stopped; it can be stopped only when running/,
    );

    await run(as("operator").applications.start({ applicationId: "loop" }));
    expect((await t.db.application.findUniqueOrThrow({ where: { id: "loop" } })).status).toBe("running");
    await waitFor("every actor past where it was held", async () =>
      (await iterations()).every((n, i) => n > held[i]!) ? true : undefined,
    );
  });

  it("delete is refused while an operation holds one of its VMs; then destroys its VMs and actors and keeps its history", async () => {
    const [vm] = await t.db.vm.findMany({ where: { applicationId: "loop", state: "running" } });
    const split = await submitSplit(t.db, { vmId: vm!.id, count: 2, targetHostIds: ["pm-3", "pm-3"] }, "test");
    expect(await refusal(as("operator").applications.delete({ applicationId: "loop" }))).toMatch(
      new RegExp(`VM loop-1 is held by operation ${split.id}`),
    );
    expect((await waitForOperationEnd(t.db, split.id, { timeoutMs: 60_000 })).status).toBe("succeeded");

    const deleted = await run(as("operator").applications.delete({ applicationId: "loop" }));
    const steps = await t.db.operationStep.findMany({ where: { operationId: deleted.id }, orderBy: { id: "asc" } });
    expect(steps.map((s) => `${s.name}:${s.status}`)).toEqual(["validate:succeeded", "discard:succeeded", "cleanup:succeeded"]);
    const vms = await t.db.vm.findMany({ where: { applicationId: "loop" } });
    expect(vms.length).toBe(3);
    expect(vms.every((v) => v.state === "deleted")).toBe(true);
    expect((await worker.vms.listDomains()).filter((d) => d.name.startsWith("loop-"))).toEqual([]);
    expect(await t.db.actor.count({ where: { applicationId: "loop" } })).toBe(0);
    expect(worker.mediator.listActors().filter((a) => uans.includes(a.uan))).toEqual([]);
    const app = await t.db.application.findUniqueOrThrow({ where: { id: "loop" } });
    expect(app.status).toBe("deleted");
    // History stays: its deploy, stop, start, split and delete.
    const kinds = (await t.db.operation.findMany({ orderBy: { createdAt: "asc" } })).map((o) => o.kind);
    expect(kinds.slice(-5)).toEqual(["deploy", "stop", "start", "split", "delete"]);
    expect(await refusal(as("operator").applications.delete({ applicationId: "loop" }))).toMatch(/is deleted/);
  });
});
