// An application registered as a bundle, run end to end by a real worker: PageRank built from its
// folder under another kind ("ranks"), registered, deployed on two VMs of simulated hosts, split,
// one of its theaters killed and recovered from a checkpoint. Every theater it lands on — the
// deploy's, the split's new VM, the restarted one — was started without its behaviors and gets
// the bundle from the Mediator; its ranks end bit-identical to the sequential reference.
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCaller, createEventHub, registerBundle } from "@malleo/api";
import { createTestDatabase, type TestDatabase } from "@malleo/db/admin";
import { isPartitionState, pagerankApplication, pagerankSequential, type PagerankConfig } from "@malleo/pagerank";
import { bundleResult } from "@malleo/sdk/bundle";
import { buildBundle } from "@malleo/sdk/bundle/build";
import { bundleFileOf, submitSplit } from "@malleo/workflows";
import { waitFor, waitForOperationEnd } from "@malleo/testing";
import { startTestWorker, type TestWorker } from "@malleo/testing/worker";
import type { RunningWorker } from "./worker";

const RANKS: PagerankConfig = {
  nodes: 3000,
  partitions: 8,
  maxOutDegree: 6,
  seed: 5,
  damping: 0.85,
  maxIterations: 1500,
  iterationDelayMs: 10,
};

let t: TestDatabase;
let running: TestWorker;
let worker: RunningWorker;

const operator = () =>
  createCaller({
    db: t.db,
    events: createEventHub("postgres://unused"),
    headers: new Headers(),
    user: { id: randomUUID(), name: "olga", role: "operator", via: "token" },
  });

beforeAll(async () => {
  t = await createTestDatabase({ systemDatabase: true });
  running = await startTestWorker(t, {
    name: "bundle-deploy",
    seed: async (dataDir) => {
      const file = path.join(dataDir, "ranks.bundle.mjs");
      await buildBundle(
        fileURLToPath(new URL("../../../applications/pagerank/test-fixtures/ranks-bundle.ts", import.meta.url)),
        file,
      );
      const registered = await registerBundle(t.db, readFileSync(file), "ada");
      expect(registered).toMatchObject({ kind: "ranks", version: "2.0.0", created: true });
    },
    env: {
      MALLEO_CHECKPOINT_MS: "0", // the test takes its checkpoint itself
      MALLEO_THEATER_LOST_GRACE_MS: "500",
      MALLEO_RECONCILE_MS: "600000",
    },
  });
  worker = running.worker;
}, 120_000);

afterAll(async () => {
  await running?.stop();
  await t?.drop();
});

const iterations = async (uans: string[]) =>
  [...(await worker.mediator.collectStates(uans)).values()].map((s) => (isPartitionState(s) ? s.iteration : -1));

describe("a bundle application", () => {
  it("is deployed, split and recovered on theaters that fetch its bundle; its ranks are bit-identical to the reference", async () => {
    const accepted = await operator().applications.deploy({
      applicationId: "br",
      kind: "ranks",
      config: RANKS,
      vms: [
        { hostId: "pm-1", vcpus: 2, memoryMiB: 2048 },
        { hostId: "pm-2", vcpus: 2, memoryMiB: 2048 },
      ],
    });
    const deployed = await waitForOperationEnd(t.db, accepted.id, { timeoutMs: 90_000 });
    expect(deployed.error).toBeNull();
    expect(deployed.status).toBe("succeeded");
    const actors = await t.db.actor.findMany({ where: { applicationId: "br" }, orderBy: { ordinal: "asc" } });
    expect(actors.map((a) => a.behavior)).toEqual(Array(RANKS.partitions).fill("ranks.partition"));
    const uans = actors.map((a) => a.uan);
    await waitFor("progress recorded", async () =>
      (await t.db.application.findUniqueOrThrow({ where: { id: "br" } })).iteration > 5 ? true : undefined,
    );

    // A split onto a new VM: its theater gets the bundle as the first actor migrates in.
    const [first] = await t.db.vm.findMany({ where: { applicationId: "br" }, orderBy: { name: "asc" } });
    const split = await submitSplit(t.db, { vmId: first!.id, count: 2, targetHostIds: ["pm-1", "pm-3"] }, "test");
    const splitEnd = await waitForOperationEnd(t.db, split.id, { timeoutMs: 90_000 });
    expect(splitEnd.error).toBeNull();
    const running = await t.db.vm.findMany({ where: { applicationId: "br", state: "running" }, include: { actors: true } });
    expect(running).toHaveLength(3);
    expect(running.every((v) => v.actors.length > 0)).toBe(true);
    const onPm3 = running.find((v) => v.hostId === "pm-3")!;
    const hereNow = await iterations(onPm3.actors.map((a) => a.uan));
    await waitFor("the split's new VM to run its actors", async () =>
      (await iterations(onPm3.actors.map((a) => a.uan))).every((n, i) => n > hereNow[i]!) ? true : undefined,
    );

    // A restarted theater is empty: restored from the checkpoint, it fetches the bundle again.
    const taken = await worker.checkpoints.take("br", "manual");
    if (!("written" in taken)) throw new Error(`no checkpoint: ${taken.skipped}`);
    // Its progress comes from the theaters, where the bundle's behaviors are.
    expect((await taken.written).iteration).toBeGreaterThan(5);
    process.kill(worker.vms.theaterPid(onPm3.id)!, "SIGKILL");
    await waitFor(
      "br to be recovered",
      () =>
        t.db.auditEvent
          .findFirst({ where: { procedure: "application.recovered", input: { path: ["applicationId"], equals: "br" } } })
          .then((r) => r ?? undefined),
      { timeoutMs: 90_000 },
    );

    const states = await waitFor(
      `every partition at iteration ${RANKS.maxIterations}`,
      async () => {
        const s = await worker.mediator.collectStates(uans);
        return [...s.values()].every((p) => isPartitionState(p) && p.iteration >= RANKS.maxIterations!) ? s : undefined;
      },
      { timeoutMs: 180_000, intervalMs: 200, ignoreErrors: true },
    );
    const expected = Buffer.from(pagerankSequential(RANKS, RANKS.maxIterations!).buffer);
    const ranks = pagerankApplication.result!(RANKS, states);
    expect(Buffer.from(ranks.buffer, ranks.byteOffset, ranks.byteLength).equals(expected)).toBe(true);
    // The module's own `result`, run from the bundle in a child process (what the digest reads), agrees.
    const viaBundle = await bundleResult(await bundleFileOf(t.db, "ranks", "2.0.0"), RANKS, states);
    expect(Buffer.from(viaBundle).equals(expected)).toBe(true);
  }, 300_000);
});
