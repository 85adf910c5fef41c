// The demo: three simulated hosts pm-1…pm-3 on libvirt's test driver and one VM on pm-1 with
// 4 vCPUs and 8 GiB running the heat-diffusion application with 64 actors.
import { randomUUID } from "node:crypto";
import path from "node:path";
import { actorCreateMany, applicationUpsert, hostCount, hostUpsert, vmCreate, type Db } from "@malleo/db";
import { applicationActorSpecs, type HeatConfig } from "@malleo/examples";
import { simulatedHostFile } from "@malleo/hypervisor";

export const DEMO_HOSTS = [
  { id: "pm-1", cpus: 16, memoryMiB: 32768, vmQuota: 4 },
  { id: "pm-2", cpus: 8, memoryMiB: 16384, vmQuota: 4 },
  { id: "pm-3", cpus: 8, memoryMiB: 16384, vmQuota: 4 },
];

export const DEMO_HEAT: HeatConfig = { width: 256, height: 256, actors: 64, maxIterations: null, iterationDelayMs: 25 };

/** Writes the simulated hosts' test-driver files (they hold capacity only) and registers them. */
export async function seedSimulatedHosts(db: Db, dataDir: string, hosts = DEMO_HOSTS): Promise<void> {
  for (const h of hosts) {
    const uri = simulatedHostFile(path.join(dataDir, "hosts"), h);
    await hostUpsert(db, { ...h, uri });
  }
}

/** Seeds the demo once; a second start finds the hosts and leaves the data alone. */
export async function seedDemo(db: Db, dataDir: string, heat: HeatConfig = DEMO_HEAT): Promise<boolean> {
  const fresh = (await hostCount(db)) === 0;
  await seedSimulatedHosts(db, dataDir); // files are rewritten every start: .data may have moved
  if (!fresh) return false;
  await seedApplicationVm(db, {
    applicationId: "heat",
    kind: "heat",
    config: heat,
    vm: { name: "heat-1", hostId: "pm-1", vcpus: 4, memoryMiB: 8192 },
  });

  return true;
}

/**
 * Records an application and one running VM holding all its actors (in ordinal order), the way
 * the demo, the tests and the benchmarks start. Returns the VM's id.
 */
export async function seedApplicationVm(
  db: Db,
  app: {
    applicationId: string;
    kind: "heat" | "crawler";
    config: object;
    vm: { name: string; hostId: string; vcpus: number; memoryMiB: number };
  },
): Promise<string> {
  await applicationUpsert(db, { id: app.applicationId, kind: app.kind, config: app.config as never });
  const vmId = randomUUID();
  await vmCreate(db, { id: vmId, ...app.vm, applicationId: app.applicationId, state: "running" });
  // A crawler's specs need a site URL only to be built; the worker gives the real one at start.
  const specs = applicationActorSpecs(app.kind, app.applicationId, { ...app.config, site: "http://placeholder" });
  await actorCreateMany(
    db,
    specs.map((s, ordinal) => ({ uan: s.uan, applicationId: app.applicationId, vmId, behavior: s.behavior, ordinal })),
  );
  return vmId;
}
