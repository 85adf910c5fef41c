// The demo: three simulated hosts pm-1…pm-3 on libvirt's test driver and one VM on pm-1 with
// 4 vCPUs and 8 GiB running the heat-diffusion application with 64 actors.
import { hostCount, type Db } from "@malleo/db";
import type { HeatConfig } from "@malleo/examples";
import { DEMO_HEAT, seedApplicationVm, seedSimulatedHosts } from "@malleo/testing";

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
