// CPU sampling, reconciliation and host health on real parts: embedded Postgres, libvirt's test
// driver and real theater processes running heat diffusion.
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  actorCreateMany,
  applicationUpsert,
  cpuSampleDownsample,
  cpuSampleSeries,
  hostUpsert,
  reconcileFindingsOpen,
  vmCreate,
} from "@malleo/db";
import { createTestDatabase, type TestDatabase } from "@malleo/db/admin";
import { heatActorSpecs, type HeatConfig } from "@malleo/examples";
import { simulatedHostFile } from "@malleo/hypervisor";
import { seedSimulatedHosts, waitFor } from "@malleo/testing";
import { CpuSampler, readCpuTimes } from "./cpu-sampler";
import { loadWorkerEnv } from "./env";
import { parseConfiguredHosts, registerConfiguredHosts } from "./host-registry";
import { createLogger } from "./log";
import { Reconciler } from "./reconcile";
import { startWorker, type RunningWorker } from "./worker";

const HEAT: HeatConfig = { width: 64, height: 32, actors: 4, maxIterations: 1_000_000, iterationDelayMs: 0 };
const VM_ID = "0b5e3c1a-3333-4a4a-8a8a-000000000001";

let t: TestDatabase;
let worker: RunningWorker;
let dataDir: string;
let reconciler: Reconciler;
const log = createLogger("test");

beforeAll(async () => {
  t = await createTestDatabase({ systemDatabase: true });
  dataDir = mkdtempSync(path.join(os.tmpdir(), "malleo-telemetry-"));
  await seedSimulatedHosts(t.db, dataDir);
  await applicationUpsert(t.db, { id: "heat", kind: "heat", config: HEAT as never });
  await vmCreate(t.db, {
    id: VM_ID,
    name: "heat-1",
    hostId: "pm-1",
    applicationId: "heat",
    vcpus: 2,
    memoryMiB: 1024,
    state: "running",
  });
  await actorCreateMany(
    t.db,
    heatActorSpecs("heat", HEAT).map((s, ordinal) => ({
      uan: s.uan,
      applicationId: "heat",
      vmId: VM_ID,
      behavior: s.behavior,
      ordinal,
    })),
  );
  worker = await startWorker(
    loadWorkerEnv({
      DATABASE_URL: t.url,
      MALLEO_DATA_DIR: dataDir,
      MALLEO_EXECUTOR_ID: "telemetry-worker",
      MALLEO_CPU_SAMPLE_MS: "3600000",
      MALLEO_RECONCILE_MS: "3600000",
    }),
  );
  reconciler = new Reconciler(t.db, worker.vms, { intervalMs: 3_600_000, log });
});

afterAll(async () => {
  await worker?.stop();
  await t?.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("CPU accounting", () => {
  it("samples a simulated VM's CPU usage (its theater process) into vm_cpu_samples as percent of its vCPUs", async () => {
    const sampler = new CpuSampler(t.db, () => readCpuTimes(worker.vms.connections(), (id) => worker.vms.theaterPid(id)), {
      intervalMs: 3_600_000,
      log,
    });
    await sampler.sampleOnce(); // the first reading only sets the baseline
    const samples = await waitFor("a sample of heat-1", async () => {
      const s = (await sampler.sampleOnce()).filter((x) => x.vmId === VM_ID);
      return s.length ? s : undefined;
    });
    expect(samples[0]!.cpuPercent).toBeGreaterThanOrEqual(0);
    expect(samples[0]!.cpuPercent).toBeLessThanOrEqual(100);
    const stored = await cpuSampleSeries(t.db, VM_ID, new Date(Date.now() - 60_000));
    expect(stored.length).toBeGreaterThanOrEqual(1);
    expect(stored.every((s) => s.samples === 1)).toBe(true);
  });

  it("folds raw samples older than the retention into one averaged row per minute", async () => {
    const vmId = randomUUID();
    const minute = new Date(Date.UTC(2026, 0, 1, 10, 0, 0));
    const at = (s: number) => new Date(minute.getTime() + s * 1000);
    await t.db.vmCpuSample.createMany({
      data: [
        { vmId, at: at(5), cpuPercent: 10 },
        { vmId, at: at(35), cpuPercent: 30 },
        { vmId, at: at(65), cpuPercent: 50 },
        { vmId, at: new Date(), cpuPercent: 70 },
      ],
    });
    expect(await cpuSampleDownsample(t.db, new Date(Date.now() - 3_600_000))).toBe(3);
    const series = await cpuSampleSeries(t.db, vmId, new Date(0));
    expect(series.map((s) => [s.at.toISOString(), s.cpuPercent, s.samples])).toEqual([
      [minute.toISOString(), 20, 2],
      [at(60).toISOString(), 50, 1],
      [series[2]!.at.toISOString(), 70, 1],
    ]);
  });
});

describe("reconciliation and host health", () => {
  it("reports a domain Postgres does not know as an orphan without deleting it, and resolves it once it is gone", async () => {
    const pm2 = worker.vms.connections().get("pm-2")!;
    await pm2.domainCreate({ name: "stray-1", uuid: randomUUID(), vcpus: 1, memoryMiB: 256, metadata: { vmId: randomUUID() } });
    const findings = await reconciler.runOnce();
    expect(findings.get("pm-2")?.map((f) => [f.kind, f.domainName])).toEqual([["orphan", "stray-1"]]);
    expect((await reconcileFindingsOpen(t.db, "pm-2")).map((f) => f.domainName)).toEqual(["stray-1"]);
    expect(await pm2.domainGet("stray-1")).toBeDefined();

    await pm2.domainDestroy("stray-1");
    await reconciler.runOnce();
    expect(await reconcileFindingsOpen(t.db, "pm-2")).toEqual([]);
    expect((await t.db.reconcileFinding.findFirstOrThrow({ where: { domainName: "stray-1" } })).resolvedAt).not.toBeNull();
  });

  it("rebuilds a simulated host's domains after its connection is reopened (the test driver keeps no state)", async () => {
    await worker.vms.dropHost("pm-1");
    const findings = await reconciler.runOnce();
    expect(findings.get("pm-1")).toEqual([]);
    const domain = await worker.vms.connections().get("pm-1")!.domainGet("heat-1");
    expect(domain?.active).toBe(true);
    expect(domain?.metadata.vmId).toBe(VM_ID);
  });

  it("shows an unreachable host as such with the reason, keeps its VMs, and marks it online when it comes back", async () => {
    const file = path.join(dataDir, "later", "pm-late.xml");
    await hostUpsert(t.db, { id: "pm-late", uri: `test://${file}`, cpus: 4, memoryMiB: 8192, vmQuota: 2 });
    await vmCreate(t.db, {
      id: randomUUID(),
      name: "on-late",
      hostId: "pm-late",
      applicationId: "heat",
      vcpus: 1,
      memoryMiB: 256,
      state: "running",
    });
    await reconciler.runOnce();
    const host = await t.db.host.findUniqueOrThrow({ where: { id: "pm-late" } });
    expect(host.status).toBe("unreachable");
    expect(host.statusReason).toContain(file);
    expect((await t.db.vm.findFirstOrThrow({ where: { name: "on-late" } })).state).toBe("running");
    expect((await t.db.host.findUniqueOrThrow({ where: { id: "pm-1" } })).accelerator).toContain("simulated");

    // The host appears: the next pass connects, marks it online and rebuilds its VM's domain.
    expect(simulatedHostFile(path.dirname(file), { id: "pm-late", cpus: 4, memoryMiB: 8192 })).toBe(`test://${file}`);
    await reconciler.runOnce();
    const back = await t.db.host.findUniqueOrThrow({ where: { id: "pm-late" } });
    expect([back.status, back.statusReason]).toEqual(["online", null]);
    expect((await worker.vms.connections().get("pm-late")!.domainGet("on-late"))?.active).toBe(true);
  });

  it("registers a host from configuration by its URI and reads its capacity from libvirt (nodeGetInfo)", async () => {
    const uri = simulatedHostFile(path.join(dataDir, "cfg"), { id: "pm-cfg", cpus: 6, memoryMiB: 12288 });
    await registerConfiguredHosts(t.db, parseConfiguredHosts(JSON.stringify([{ id: "pm-cfg", uri, vmQuota: 3 }])));
    expect((await t.db.host.findUniqueOrThrow({ where: { id: "pm-cfg" } })).cpus).toBe(0);
    await reconciler.runOnce();
    const h = await t.db.host.findUniqueOrThrow({ where: { id: "pm-cfg" } });
    expect([h.uri, h.cpus, h.memoryMiB, h.vmQuota, h.status]).toEqual([uri, 6, 12288, 3, "online"]);
  });
});
