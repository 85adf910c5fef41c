// Seeding what tests, the demo and the benchmarks start from: simulated hosts on libvirt's test
// driver and an application with one running VM holding all its actors.
import { randomUUID } from "node:crypto";
import path from "node:path";
import { actorCreateMany, actorListByApplication, actorMove, applicationUpsert, hostUpsert, vmCreate, type Db } from "@malleo/db";
import { installedApplications } from "@malleo/applications";
import type { HeatConfig } from "@malleo/examples";
import { simulatedHostFile } from "@malleo/hypervisor";

/** Three simulated hosts pm-1…pm-3. */
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

/**
 * Records an application and one running VM holding all its actors (in ordinal order), the way
 * the demo, the tests and the benchmarks start. Returns the VM's id.
 */
export async function seedApplicationVm(
  db: Db,
  app: {
    applicationId: string;
    kind: string;
    config: object;
    vm: { name: string; hostId: string; vcpus: number; memoryMiB: number };
  },
): Promise<string> {
  await applicationUpsert(db, { id: app.applicationId, kind: app.kind, config: app.config as never });
  const vmId = randomUUID();
  await vmCreate(db, { id: vmId, ...app.vm, applicationId: app.applicationId, state: "running" });
  const specs = installedApplications.actorSpecs(app.kind, app.applicationId, app.config);
  await actorCreateMany(
    db,
    specs.map((s, ordinal) => ({ uan: s.uan, applicationId: app.applicationId, vmId, behavior: s.behavior, ordinal })),
  );
  return vmId;
}

/**
 * Records an application over several running VMs, as after a split: its actors in ordinal order,
 * in contiguous runs of (nearly) equal length, the first run on the first VM. Returns the VMs' ids.
 */
export async function seedApplicationVms(
  db: Db,
  app: {
    applicationId: string;
    kind: string;
    config: object;
    vms: { name: string; hostId: string; vcpus: number; memoryMiB: number }[];
  },
): Promise<string[]> {
  const [first, ...rest] = app.vms;
  if (!first) throw new Error("seedApplicationVms needs at least one VM");
  const ids = [await seedApplicationVm(db, { ...app, vm: first })];
  for (const vm of rest) {
    const id = randomUUID();
    await vmCreate(db, { id, ...vm, applicationId: app.applicationId, state: "running" });
    ids.push(id);
  }
  const actors = await actorListByApplication(db, app.applicationId);
  for (let i = 1; i < ids.length; i++) {
    const from = Math.floor((actors.length * i) / ids.length);
    const to = Math.floor((actors.length * (i + 1)) / ids.length);
    await actorMove(
      db,
      actors.slice(from, to).map((a) => a.uan),
      ids[i]!,
    );
  }
  return ids;
}
