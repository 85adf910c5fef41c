// Seeds a large topology straight into Postgres (plain SQL, in seconds): `hosts` hosts with
// `vmsPerHost` VMs each holding `actorsPerVm` heat actors. Used by the api-topology and
// ui-topology benchmarks and by the e2e test of the windowed topology page.
import type pg from "pg";

export interface TopologySeed {
  hosts: number;
  vmsPerHost: number;
  actorsPerVm: number;
  /** Host ids are `<prefix>001`…, VM names `<prefix>vm-0001`… (default "pm-" and "vm-"). */
  prefix?: string;
  /**
   * The VMs' state. A worker running against the same database starts a theater for every
   * running VM: seed "failed" VMs there (shown on the topology, never started).
   */
  vmState?: "running" | "failed";
}

export async function seedTopology(client: pg.Client, seed: TopologySeed): Promise<void> {
  const hostPrefix = seed.prefix ?? "pm-";
  const vmPrefix = seed.prefix ? `${seed.prefix}vm-` : "vm-";
  await client.query(`INSERT INTO applications (id, kind, config) VALUES ('heat', 'heat', '{}') ON CONFLICT (id) DO NOTHING`);
  await client.query(
    `INSERT INTO hosts (id, name, uri, cpus, memory_mib, vm_quota)
     SELECT $2 || lpad(i::text, 3, '0'), $2 || lpad(i::text, 3, '0'), 'test:///default', 64, 262144, 16 FROM generate_series(1, $1) i`,
    [seed.hosts, hostPrefix],
  );
  await client.query(
    `INSERT INTO vms (id, name, host_id, application_id, vcpus, memory_mib, state)
     SELECT gen_random_uuid(), $3 || lpad(i::text, 4, '0'), $4 || lpad((((i - 1) / $2) + 1)::text, 3, '0'), 'heat', 4, 8192, $5::"VmState"
       FROM generate_series(1, $1) i`,
    [seed.hosts * seed.vmsPerHost, seed.vmsPerHost, vmPrefix, hostPrefix, seed.vmState ?? "running"],
  );
  if (seed.actorsPerVm > 0) {
    await client.query(
      `INSERT INTO actors (uan, application_id, vm_id, behavior, ordinal)
       SELECT 'uan://heat/' || $2 || 'slab-' || (v.n * $1 + j), 'heat', v.id, 'heat-slab', 1000000 + v.n * $1 + j
         FROM (SELECT id, row_number() OVER (ORDER BY name) - 1 AS n FROM vms WHERE name LIKE $2 || '%') v, generate_series(0, $1 - 1) j`,
      [seed.actorsPerVm, vmPrefix],
    );
  }
  await client.query("ANALYZE");
}

/** Removes what seedTopology put in with this prefix. */
export async function unseedTopology(client: pg.Client, prefix: string): Promise<void> {
  await client.query(`DELETE FROM actors WHERE vm_id IN (SELECT id FROM vms WHERE name LIKE $1 || 'vm-%')`, [prefix]);
  await client.query(`DELETE FROM vm_cpu_samples WHERE vm_id IN (SELECT id FROM vms WHERE name LIKE $1 || 'vm-%')`, [prefix]);
  await client.query(`DELETE FROM vms WHERE name LIKE $1 || 'vm-%'`, [prefix]);
  await client.query(`DELETE FROM hosts WHERE id LIKE $1 || '%'`, [prefix]);
}
