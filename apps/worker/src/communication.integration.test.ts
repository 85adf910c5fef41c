// Actor communication sampling on real parts: embedded Postgres, libvirt's test driver and real
// theater processes running heat diffusion on two VMs; the sampler's rows read back through the
// API's `applications.communication` as a viewer.
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCaller, createEventHub } from "@malleo/api";
import type { CommunicationSample } from "@malleo/core";
import { actorCreateMany, applicationUpsert, communicationPrune, vmCreate } from "@malleo/db";
import { createTestDatabase, type TestDatabase } from "@malleo/db/admin";
import { heatActorSpecs, type HeatConfig } from "@malleo/examples";
import { seedSimulatedHosts, waitFor } from "@malleo/testing";
import { CommunicationSampler } from "./communication-sampler";
import { loadWorkerEnv } from "./env";
import { createLogger } from "./log";
import { startWorker, type RunningWorker } from "./worker";

const HEAT: HeatConfig = { width: 32, height: 32, actors: 4, maxIterations: 1_000_000, iterationDelayMs: 1 };
const VM_A = "0c0c0c0c-1111-4a4a-8a8a-00000000000a";
const VM_B = "0c0c0c0c-1111-4a4a-8a8a-00000000000b";
const specs = heatActorSpecs("heat", HEAT);

let t: TestDatabase;
let worker: RunningWorker;
let dataDir: string;
let sampler: CommunicationSampler;

const viewer = () =>
  createCaller({
    db: t.db,
    events: createEventHub("postgres://unused"),
    headers: new Headers(),
    user: { id: randomUUID(), name: "vic", role: "viewer", via: "token" },
  });

/** The next stored sample of heat in which messages were counted. */
const nextSample = () =>
  waitFor("a communication sample of heat with messages", async () => {
    const sample = (await sampler.sampleOnce()).get("heat");
    return sample && sample.totalPerSecond > 0 ? sample : undefined;
  });

const sumOf = (sample: CommunicationSample, pairs: "vmPairs" | "groupPairs") =>
  sample[pairs].reduce((n, p) => n + p.perSecond, 0);

beforeAll(async () => {
  t = await createTestDatabase({ systemDatabase: true });
  dataDir = mkdtempSync(path.join(os.tmpdir(), "malleo-communication-"));
  await seedSimulatedHosts(t.db, dataDir);
  await applicationUpsert(t.db, { id: "heat", kind: "heat", config: HEAT as never });
  for (const [id, name] of [
    [VM_A, "heat-a"],
    [VM_B, "heat-b"],
  ] as const)
    await vmCreate(t.db, { id, name, hostId: "pm-1", applicationId: "heat", vcpus: 1, memoryMiB: 512, state: "running" });
  // Slabs 0 and 1 on heat-a, 2 and 3 on heat-b: neighbours exchange edges, so 1 ↔ 2 crosses VMs.
  await actorCreateMany(
    t.db,
    specs.map((s, ordinal) => ({
      uan: s.uan,
      applicationId: "heat",
      vmId: ordinal < 2 ? VM_A : VM_B,
      behavior: s.behavior,
      ordinal,
    })),
  );
  worker = await startWorker(
    loadWorkerEnv({
      DATABASE_URL: t.url,
      MALLEO_DATA_DIR: dataDir,
      MALLEO_EXECUTOR_ID: "communication-worker",
      MALLEO_CPU_SAMPLE_MS: "3600000",
      MALLEO_COMM_SAMPLE_MS: "3600000",
      MALLEO_RECONCILE_MS: "3600000",
      MALLEO_CHECKPOINT_MS: "0",
    }),
  );
  sampler = new CommunicationSampler(t.db, (vmIds) => worker.mediator.messageCounts(vmIds), {
    intervalMs: 3_600_000,
    log: createLogger("test"),
  });
});

afterAll(async () => {
  await worker?.stop();
  await t?.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("communication sampling", () => {
  it("stores rates per VM pair and per actor group; the cross-VM share is what went between heat-a and heat-b", async () => {
    expect((await sampler.sampleOnce()).size).toBe(0); // the first reading is only the baseline
    const sample = await nextSample();
    expect(sample.resetActors).toBe(0);
    expect(sample.vms).toEqual([
      { vmId: VM_A, actors: 2 },
      { vmId: VM_B, actors: 2 },
    ]);
    const rate = (from: string, to: string) => sample.vmPairs.find((p) => p.from === from && p.to === to)?.perSecond ?? 0;
    // Every slab sends its edges to each neighbour once per iteration: 0↔1 and 2↔3 stay inside, 1↔2 crosses.
    expect(rate(VM_A, VM_A)).toBeGreaterThan(0);
    expect(rate(VM_B, VM_B)).toBeGreaterThan(0);
    expect(rate(VM_A, VM_B)).toBeGreaterThan(0);
    expect(rate(VM_B, VM_A)).toBeGreaterThan(0);
    expect(sample.crossVmPerSecond).toBeCloseTo(rate(VM_A, VM_B) + rate(VM_B, VM_A), 6);
    expect(sumOf(sample, "vmPairs")).toBeCloseTo(sample.totalPerSecond, 6);
    expect(sumOf(sample, "groupPairs")).toBeCloseTo(sample.totalPerSecond, 6);
    // Four actors, four groups of one: slab 0 talks to slab 1 only, never to 2 or 3.
    expect(sample.groups.map((g) => [g.first, g.last])).toEqual([
      [0, 0],
      [1, 1],
      [2, 2],
      [3, 3],
    ]);
    expect(sample.groupPairs.some((p) => p.from === "0" && (p.to === "2" || p.to === "3"))).toBe(false);
    // A third of the heat's messages cross (1→2 and 2→1 of the six directed neighbour pairs), within a sample's jitter.
    expect(sample.crossVmPerSecond / sample.totalPerSecond).toBeGreaterThan(0.2);
    expect(sample.crossVmPerSecond / sample.totalPerSecond).toBeLessThan(0.5);
  });

  it("follows an actor that moved (its counters travel with it) without a reset or a negative rate", async () => {
    await sampler.sampleOnce();
    await worker.mediator.migrate([specs[1]!.uan], VM_A, VM_B, { resumeOnArrival: true });
    await sampler.sampleOnce(); // the interval the move fell in
    const sample = await nextSample();
    expect(sample.vms).toEqual([
      { vmId: VM_A, actors: 1 },
      { vmId: VM_B, actors: 3 },
    ]);
    expect(sample.resetActors).toBe(0);
    expect([...sample.vmPairs, ...sample.groupPairs].every((p) => p.perSecond > 0)).toBe(true);
    // Now only 0 ↔ 1 crosses: still two directed neighbour pairs of six.
    const rate = (from: string, to: string) => sample.vmPairs.find((p) => p.from === from && p.to === to)?.perSecond ?? 0;
    expect(rate(VM_A, VM_A)).toBe(0);
    expect(rate(VM_A, VM_B)).toBeGreaterThan(0);
  });

  it("serves the samples to a viewer with the VMs' names, and NOT_FOUND for an unknown application", async () => {
    const view = await viewer().applications.communication({ applicationId: "heat" });
    expect(view.latest).not.toBeNull();
    expect(view.history.length).toBeGreaterThanOrEqual(2);
    expect(view.history.every((h) => h.totalPerSecond >= 0 && h.crossVmPerSecond <= h.totalPerSecond + 1e-9)).toBe(true);
    expect(view.vms.map((v) => v.name).sort()).toEqual(["heat-a", "heat-b"]);
    expect(view.latest!.vms.map((v) => v.actors)).toEqual([1, 3]);
    await expect(viewer().applications.communication({ applicationId: "nope" })).rejects.toMatchObject({
      code: "NOT_FOUND",
      message: "application nope does not exist; the topology lists the applications",
    });
  });

  it("prunes samples older than the retention", async () => {
    const before = await t.db.applicationCommunication.count();
    expect(before).toBeGreaterThan(0);
    expect(await communicationPrune(t.db, new Date(Date.now() - 3_600_000))).toBe(0);
    expect(await communicationPrune(t.db, new Date(Date.now() + 1000))).toBe(before);
    expect((await viewer().applications.communication({ applicationId: "heat" })).latest).toBeNull();
  });
});
