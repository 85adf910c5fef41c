// api-topology: the topology query behind the Topology page (tRPC procedure, Prisma, output
// validation) at 100 hosts / 1,000 VMs / 100,000 actors, p95 over repeated calls, against one
// plain SQL query returning the same rows (hosts, VMs, actor counts and ordinal ranges) measured
// in the same run. Two baselines: the plain query reading the per-VM counts the triggers keep (what
// the API reads too), and the plain query recounting 100,000 actors with a GROUP BY (what the API
// did before the counts were kept, and what the counts must always equal).
import { createCaller, createEventHub } from "@malleo/api";
import { createDb } from "@malleo/db";
import { seedTopology } from "./lib/topology-seed";
import { benchPgClient } from "./lib/database";
import type { BenchResult } from "./run";
import { percentile } from "./stats";

const HOSTS = 100;
const VMS_PER_HOST = 10;
const ACTORS_PER_VM = 100;
const RUNS = 60;
const WARMUP = 5;

const PLAIN_SQL = `
  SELECT h.id AS host_id, h.cpus, h.memory_mib AS host_memory, h.vm_quota, h.status AS host_status,
         v.id AS vm_id, v.name, v.application_id, v.vcpus, v.memory_mib, v.state, v.locked_by, v.created_at,
         v.actor_count AS actors, v.first_ordinal AS lo, v.last_ordinal AS hi
    FROM hosts h
    LEFT JOIN vms v ON v.host_id = h.id AND v.state <> 'deleted'
   ORDER BY h.id, v.created_at`;

const PLAIN_SQL_RECOUNT = `
  SELECT h.id AS host_id, h.cpus, h.memory_mib AS host_memory, h.vm_quota, h.status AS host_status,
         v.id AS vm_id, v.name, v.application_id, v.vcpus, v.memory_mib, v.state, v.locked_by, v.created_at,
         coalesce(a.n, 0) AS actors, a.lo, a.hi
    FROM hosts h
    LEFT JOIN vms v ON v.host_id = h.id AND v.state <> 'deleted'
    LEFT JOIN (SELECT vm_id, count(*) AS n, min(ordinal) AS lo, max(ordinal) AS hi FROM actors GROUP BY vm_id) a ON a.vm_id = v.id
   ORDER BY h.id, v.created_at`;

async function time(fn: () => Promise<unknown>): Promise<number[]> {
  for (let i = 0; i < WARMUP; i++) await fn();
  const out: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    await fn();
    out.push(performance.now() - t0);
  }
  return out;
}

export async function run(): Promise<BenchResult> {
  const database = await benchPgClient("api-topology", 54342);
  const { url, client } = database;
  try {
    await seedTopology(client, { hosts: HOSTS, vmsPerHost: VMS_PER_HOST, actorsPerVm: ACTORS_PER_VM });
    const db = createDb(url);
    const caller = createCaller({
      db,
      events: createEventHub(url),
      headers: new Headers(),
      user: { id: "bench", name: "bench", role: "viewer", via: "token" },
    });
    const check = await caller.topology.get();
    const vms = check.hosts.reduce((n, h) => n + h.vms.length, 0);
    if (
      check.hosts.length !== HOSTS ||
      vms !== HOSTS * VMS_PER_HOST ||
      check.totalActors !== HOSTS * VMS_PER_HOST * ACTORS_PER_VM
    ) {
      throw new Error(`topology returned ${check.hosts.length} hosts, ${vms} VMs, ${check.totalActors} actors`);
    }
    const bytes = JSON.stringify(check).length;
    // The kept counts are only a shortcut if they are right: they must equal the recount.
    const kept = (await client.query(PLAIN_SQL)).rows as Record<string, unknown>[];
    const recounted = (await client.query(PLAIN_SQL_RECOUNT)).rows as Record<string, unknown>[];
    const key = (r: Record<string, unknown>) => `${String(r.vm_id)}:${Number(r.actors)}:${String(r.lo)}:${String(r.hi)}`;
    if (kept.map(key).join() !== recounted.map(key).join()) throw new Error("kept actor counts differ from a recount");
    const plain = await time(() => client.query(PLAIN_SQL));
    const recount = await time(() => client.query(PLAIN_SQL_RECOUNT));
    const api = await time(() => caller.topology.get());
    await db.$disconnect();
    const apiP95 = percentile(api, 95);
    return {
      figures: {
        "topology query p50 (ms)": percentile(api, 50),
        "topology query p95 (ms)": apiP95,
        "baseline plain SQL, same rows p50 (ms)": percentile(plain, 50),
        "baseline plain SQL, same rows p95 (ms)": percentile(plain, 95),
        "baseline plain SQL recounting actors p50 (ms)": percentile(recount, 50),
        "baseline plain SQL recounting actors p95 (ms)": percentile(recount, 95),
        "response size (bytes of JSON)": bytes,
        scale: `${HOSTS} hosts, ${HOSTS * VMS_PER_HOST} VMs, ${HOSTS * VMS_PER_HOST * ACTORS_PER_VM} actors; ${RUNS} runs after ${WARMUP} warm-up`,
      },
      checks: [
        { what: "topology query p95 at 100 hosts / 1,000 VMs / 100,000 actors (ms)", value: apiP95, goal: 100, better: "lower" },
      ],
    };
  } finally {
    await database.stop();
  }
}
