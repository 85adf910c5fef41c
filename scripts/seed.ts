// The demo: three simulated hosts pm-1…pm-3 on libvirt's test driver and one VM on pm-1 with
// 4 vCPUs and 8 GiB running the heat-diffusion application with 64 actors.
import { randomUUID } from "node:crypto";
import path from "node:path";
import { actorCreateMany, applicationUpsert, hostUpsert, vmCreate, type Db } from "@malleo/db";
import { heatActorSpecs, type HeatConfig } from "@malleo/examples";
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
  const fresh = (await db.host.count()) === 0;
  await seedSimulatedHosts(db, dataDir); // files are rewritten every start: .data may have moved
  if (!fresh) return false;
  await applicationUpsert(db, { id: "heat", kind: "heat", config: heat as never });
  const vmId = randomUUID();
  await vmCreate(db, {
    id: vmId,
    name: "heat-1",
    hostId: "pm-1",
    applicationId: "heat",
    vcpus: 4,
    memoryMiB: 8192,
    state: "running",
  });
  await actorCreateMany(
    db,
    heatActorSpecs("heat", heat).map((s, ordinal) => ({
      uan: s.uan,
      applicationId: "heat",
      vmId,
      behavior: s.behavior,
      ordinal,
    })),
  );
  return true;
}
