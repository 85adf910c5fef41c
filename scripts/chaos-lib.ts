// What the chaos suite's scenarios share (scripts/chaos.ts kills workers, scripts/chaos-theaters.ts
// theaters, hosts and the whole stack): the seeded random source, a fresh database per scenario,
// heat seeded on its VMs, and the checks every scenario ends with.
import { mkdirSync, rmSync } from "node:fs";
import path from "node:path";
import { actorCreateMany, applicationUpsert, createDb, vmCreate, type Db } from "@malleo/db";
import { createFromTemplates, createTemplates } from "@malleo/db/admin";
import { heatActorSpecs, type HeatConfig } from "@malleo/examples";
import { seedSimulatedHosts } from "@malleo/testing";
import { getJson } from "./worker-process";

/** Seeded (mulberry32), so a failing random scenario can be run again by its key. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The chaos phase's template databases, made once per run and server (the first scenario waits for them). */
const TEMPLATE = "chaos_template";
const templates = new Map<string, Promise<void>>();

/**
 * A scenario's own place to run: its data directory under `workDir`, named by its key and made
 * empty (with `logs/`), and its fresh database (scenarioDatabase, `chaos_<index>`).
 */
export async function scenarioWorkspace(
  baseUrl: string,
  key: string,
  index: number,
  workDir: string,
): Promise<{ dataDir: string; url: string; db: Db }> {
  const dataDir = path.join(workDir, key.replace(/:/g, "-"));
  rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(path.join(dataDir, "logs"), { recursive: true });
  return { dataDir, ...(await scenarioDatabase(baseUrl, `chaos_${index}`)) };
}

/**
 * A fresh, migrated database of its own for one scenario, and its DBOS system database
 * (`<dbName>_dbos`) with DBOS's tables already created: both cloned from templates made once per
 * run, instead of migrating each scenario's anew and having its first worker create DBOS's.
 */
export async function scenarioDatabase(baseUrl: string, dbName: string): Promise<{ url: string; db: Db }> {
  let made = templates.get(baseUrl);
  if (!made) {
    made = createTemplates(baseUrl, TEMPLATE);
    templates.set(baseUrl, made);
    made.catch(() => templates.delete(baseUrl));
  }
  await made;
  const admin = createDb(baseUrl, { max: 1 });
  await admin.$executeRawUnsafe(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
  await admin.$executeRawUnsafe(`DROP DATABASE IF EXISTS "${dbName}_dbos" WITH (FORCE)`);
  await admin.$disconnect();
  const url = await createFromTemplates(baseUrl, dbName, TEMPLATE, { systemDatabase: true });
  return { url, db: createDb(url, { max: 3 }) };
}

/** A split starts from one VM on pm-1; a merge (and a theater death) from two halves on pm-2 and pm-3. */
export async function seedHeat(
  db: Db,
  dataDir: string,
  heat: HeatConfig,
  layout: "one" | "halves",
  checkpointIntervalMs?: number,
): Promise<string[]> {
  await seedSimulatedHosts(db, dataDir);
  await applicationUpsert(db, { id: "heat", kind: "heat", config: heat as never });
  if (checkpointIntervalMs !== undefined) await db.application.update({ where: { id: "heat" }, data: { checkpointIntervalMs } });
  const specs = heatActorSpecs("heat", heat);
  const vms =
    layout === "one"
      ? [{ name: "heat-1", hostId: "pm-1", vcpus: 4, memoryMiB: 8192, actors: specs }]
      : [
          { name: "heat-a", hostId: "pm-2", vcpus: 2, memoryMiB: 4096, actors: specs.slice(0, heat.actors / 2) },
          { name: "heat-b", hostId: "pm-3", vcpus: 2, memoryMiB: 4096, actors: specs.slice(heat.actors / 2) },
        ];
  const ids: string[] = [];
  let ordinal = 0;
  for (const vm of vms) {
    const id = crypto.randomUUID();
    ids.push(id);
    await vmCreate(db, {
      id,
      name: vm.name,
      hostId: vm.hostId,
      applicationId: "heat",
      vcpus: vm.vcpus,
      memoryMiB: vm.memoryMiB,
      state: "running",
    });
    await actorCreateMany(
      db,
      vm.actors.map((s) => ({ uan: s.uan, applicationId: "heat", vmId: id, behavior: s.behavior, ordinal: ordinal++ })),
    );
  }
  return ids;
}

export interface WorldCheck {
  actorsLost: number;
  orphans: number;
  problems: string[];
}

/** The application a scenario checks: how many actors it has and its result's digest (its sequential reference's). */
export interface ExpectedApplication {
  applicationId: string;
  actors: number;
  digest: string;
}

export const expectedHeat = (heat: HeatConfig, digest: string): ExpectedApplication => ({
  applicationId: "heat",
  actors: heat.actors,
  digest,
});

/**
 * What must hold once a scenario settled: every domain has its row and every live row its
 * domain, every VM running and unlocked, every actor hosted exactly once where Postgres says,
 * none on a deleted VM, and the application's result (heat's grid, PageRank's ranks)
 * bit-identical to its sequential reference.
 */
export async function checkWorld(db: Db, adminPort: number, expected: ExpectedApplication): Promise<WorldCheck> {
  const problems: string[] = [];
  const inventory = await getJson<{ domains: { hostId: string; name: string }[]; actors: { uan: string; vmId: string }[] }>(
    adminPort,
    "/inventory",
  );
  const live = await db.vm.findMany({ where: { state: { not: "deleted" } } });
  const liveNames = new Set(live.map((v) => v.name));
  const domainNames = new Set(inventory.domains.map((d) => d.name));
  const orphans = [...domainNames].filter((n) => !liveNames.has(n));
  const missing = [...liveNames].filter((n) => !domainNames.has(n));
  if (orphans.length) problems.push(`orphan domains: ${orphans.join(", ")}`);
  if (missing.length) problems.push(`rows without a domain: ${missing.join(", ")}`);
  const notClean = live.filter((v) => v.state !== "running" || v.lockedBy !== null);
  if (notClean.length)
    problems.push(`VMs not running or still locked: ${notClean.map((v) => `${v.name}:${v.state}:${v.lockedBy}`).join(", ")}`);

  const rows = await db.actor.findMany();
  const found = new Map(inventory.actors.map((a) => [a.uan, a.vmId]));
  const lost = rows.filter((r) => !found.has(r.uan));
  if (lost.length) problems.push(`actors lost: ${lost.map((r) => r.uan).join(", ")}`);
  if (inventory.actors.length !== expected.actors)
    problems.push(`theaters host ${inventory.actors.length} actors, expected ${expected.actors}`);
  if (found.size !== inventory.actors.length) problems.push(`${inventory.actors.length - found.size} actors exist twice`);
  const misplaced = rows.filter((r) => found.has(r.uan) && found.get(r.uan) !== r.vmId);
  if (misplaced.length) problems.push(`actors recorded on the wrong VM: ${misplaced.map((r) => r.uan).join(", ")}`);
  const onDead = rows.filter((r) => !live.some((v) => v.id === r.vmId));
  if (onDead.length) problems.push(`actors on a deleted VM: ${onDead.length}`);

  const digest = await getJson<{ actors: number; sha256: string }>(
    adminPort,
    `/applications/${encodeURIComponent(expected.applicationId)}/digest`,
  );
  if (digest.sha256 !== expected.digest)
    problems.push(
      expected.applicationId === "heat"
        ? "heat grid differs from the sequential run"
        : `${expected.applicationId}'s result differs from its sequential reference`,
    );
  return { actorsLost: lost.length, orphans: orphans.length, problems };
}
