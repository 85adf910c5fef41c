import { randomUUID } from "node:crypto";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  actorCreateMany,
  actorMove,
  applicationUpsert,
  hostUpsert,
  listenEvents,
  topologySummary,
  vmCreate,
  type MalleoEvent,
} from "../index";
import { createTestDatabase, type TestDatabase } from "../testing";

/**
 * The per-VM actor summary (count, first and last ordinal) kept by triggers must always equal a
 * recount of the actors table, whatever splits, merges and transfers did to it.
 */
let t: TestDatabase;
let vmSeq = 0;

beforeAll(async () => {
  t = await createTestDatabase();
  await hostUpsert(t.db, { id: "pm-1", uri: "test:///default", cpus: 512, memoryMiB: 1 << 20, vmQuota: 500 });
  await applicationUpsert(t.db, { id: "heat", kind: "heat", config: {} });
});
afterAll(() => t?.drop());

async function newVm(): Promise<string> {
  const id = randomUUID();
  vmSeq += 1;
  await vmCreate(t.db, {
    id,
    name: `vm-${vmSeq}`,
    hostId: "pm-1",
    applicationId: "heat",
    vcpus: 1,
    memoryMiB: 512,
    state: "running",
  });
  return id;
}

type Summary = { n: number; lo: number | null; hi: number | null };

/** What the triggers keep, and what a plain recount says, for the given VMs. */
async function summaries(vmIds: string[]): Promise<{ kept: Record<string, Summary>; recount: Record<string, Summary> }> {
  const kept = await t.db.$queryRaw<{ id: string; n: number; lo: number | null; hi: number | null }[]>`
    SELECT id::text, actor_count AS n, first_ordinal AS lo, last_ordinal AS hi FROM vms WHERE id::text = ANY(${vmIds})`;
  const recount = await t.db.$queryRaw<{ id: string; n: number; lo: number | null; hi: number | null }[]>`
    SELECT v.id::text, count(a.uan)::int AS n, min(a.ordinal) AS lo, max(a.ordinal) AS hi
      FROM vms v LEFT JOIN actors a ON a.vm_id = v.id WHERE v.id::text = ANY(${vmIds}) GROUP BY v.id`;
  const byId = (rows: { id: string; n: number; lo: number | null; hi: number | null }[]) =>
    Object.fromEntries(rows.map((r) => [r.id, { n: r.n, lo: r.lo, hi: r.hi }]));
  return { kept: byId(kept), recount: byId(recount) };
}

async function expectSummariesMatchRecount(vmIds: string[]): Promise<Record<string, Summary>> {
  const { kept, recount } = await summaries(vmIds);
  expect(Object.keys(kept)).toHaveLength(vmIds.length);
  expect(kept).toEqual(recount);
  return kept;
}

async function seedActors(vmId: string, from: number, count: number, prefix: string): Promise<string[]> {
  const actors = Array.from({ length: count }, (_, i) => ({
    uan: `uan://heat/${prefix}-${from + i}`,
    applicationId: "heat",
    vmId,
    behavior: "heat-slab",
    ordinal: from + i,
  }));
  await actorCreateMany(t.db, actors);
  return actors.map((a) => a.uan);
}

/** Splits `uans` into batches of `size`, the way Transfer moves them. */
function batches<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

describe("per-VM actor summary", () => {
  it("equals a recount after a split into three and a merge back, batch by batch", async () => {
    const source = await newVm();
    const uans = await seedActors(source, 1000, 90, "split");
    expect(await expectSummariesMatchRecount([source])).toEqual({ [source]: { n: 90, lo: 1000, hi: 1089 } });

    const targets = [await newVm(), await newVm(), await newVm()];
    for (const [i, target] of targets.entries()) {
      for (const batch of batches(uans.slice(i * 30, i * 30 + 30), 7)) {
        await actorMove(t.db, batch, target);
        await expectSummariesMatchRecount([source, ...targets]);
      }
    }
    const afterSplit = await expectSummariesMatchRecount([source, ...targets]);
    expect(afterSplit[source]).toEqual({ n: 0, lo: null, hi: null });
    expect(afterSplit[targets[1]!]).toEqual({ n: 30, lo: 1030, hi: 1059 });

    const merged = await newVm();
    for (const target of targets) {
      const theirs = uans.filter((_, i) => Math.floor(i / 30) === targets.indexOf(target));
      for (const batch of batches(theirs, 11)) await actorMove(t.db, batch, merged);
    }
    const afterMerge = await expectSummariesMatchRecount([source, merged, ...targets]);
    expect(afterMerge[merged]).toEqual({ n: 90, lo: 1000, hi: 1089 });
    for (const target of targets) expect(afterMerge[target]).toEqual({ n: 0, lo: null, hi: null });
  });

  it("equals a recount after any sequence of transfers, deletions and renumberings", async () => {
    const vms = [await newVm(), await newVm(), await newVm(), await newVm()];
    const uans = await seedActors(vms[0]!, 2000, 40, "prop");
    const op = fc.oneof(
      fc.record({ kind: fc.constant("move" as const), picks: fc.subarray(uans, { minLength: 1 }), to: fc.nat({ max: 3 }) }),
      fc.record({ kind: fc.constant("delete" as const), picks: fc.subarray(uans, { minLength: 1, maxLength: 3 }) }),
      fc.record({
        kind: fc.constant("renumber" as const),
        picks: fc.subarray(uans, { minLength: 1, maxLength: 5 }),
        by: fc.integer({ min: -50, max: 50 }),
      }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 8 }), async (ops) => {
        // Every run starts from the same 40 actors on the first VM.
        await t.db.$executeRaw`DELETE FROM actors WHERE uan LIKE 'uan://heat/prop-%'`;
        await seedActors(vms[0]!, 2000, 40, "prop");
        for (const o of ops) {
          if (o.kind === "move") await actorMove(t.db, o.picks, vms[o.to]!);
          else if (o.kind === "delete") await t.db.$executeRaw`DELETE FROM actors WHERE uan = ANY(${o.picks})`;
          else await t.db.$executeRaw`UPDATE actors SET ordinal = ordinal + ${o.by} WHERE uan = ANY(${o.picks})`;
          const { kept, recount } = await summaries(vms);
          expect(kept).toEqual(recount);
        }
      }),
      { numRuns: 40, seed: 20261125 },
    );
  });

  it("equals a recount after concurrent batches move into and out of one VM", async () => {
    const hub = await newVm();
    const sources = [await newVm(), await newVm(), await newVm(), await newVm()];
    const bySource = await Promise.all(sources.map((s, i) => seedActors(s, 3000 + i * 100, 60, `conc-${i}`)));
    // Every source's actors stream into the hub in parallel batches, as four transfers at once would.
    await Promise.all(bySource.flatMap((uans) => batches(uans, 5).map((b) => actorMove(t.db, b, hub))));
    const inHub = await expectSummariesMatchRecount([hub, ...sources]);
    expect(inHub[hub]).toEqual({ n: 240, lo: 3000, hi: 3359 });
    // And back out, concurrently, to the sources in interleaved batches.
    await Promise.all(bySource.flatMap((uans, i) => batches(uans, 4).map((b) => actorMove(t.db, b, sources[(i + 1) % 4]!))));
    const after = await expectSummariesMatchRecount([hub, ...sources]);
    expect(after[hub]).toEqual({ n: 0, lo: null, hi: null });
    expect(after[sources[1]!]).toEqual({ n: 60, lo: 3000, hi: 3059 });
  });

  it("is unchanged by a transfer that rolls back", async () => {
    const from = await newVm();
    const to = await newVm();
    const uans = await seedActors(from, 5000, 20, "rb");
    await expect(
      t.db.$transaction(async (tx) => {
        await tx.actor.updateMany({ where: { uan: { in: uans.slice(0, 10) } }, data: { vmId: to } });
        throw new Error("the theater dropped the connection");
      }),
    ).rejects.toThrow("dropped");
    expect(await expectSummariesMatchRecount([from, to])).toEqual({
      [from]: { n: 20, lo: 5000, hi: 5019 },
      [to]: { n: 0, lo: null, hi: null },
    });
  });

  it("is what the topology reports", async () => {
    const vm = await newVm();
    await seedActors(vm, 7000, 12, "topo");
    const topo = await topologySummary(t.db);
    const row = topo.hosts.flatMap((h) => h.vms).find((v) => v.id === vm);
    expect(row).toMatchObject({ actorCount: 12, firstOrdinal: 7000, lastOrdinal: 7011 });
  });

  it("announces each committed batch's new counts on the events channel, in order", async () => {
    const from = await newVm();
    const to = await newVm();
    const uans = await seedActors(from, 9000, 30, "notify");
    const events: MalleoEvent[] = [];
    let probes = 0;
    // Probes (application events) show that LISTEN is up; a late one must not count as a change.
    const stop = listenEvents(t.url, (e) => (e.type === "application" ? (probes += 1) : events.push(e)));
    try {
      // LISTEN is up once a probe sent after it arrives.
      await expect
        .poll(async () => {
          await t.db
            .$executeRaw`SELECT pg_notify('malleo_events', '{"type":"application","applicationId":"probe","iteration":0}')`;
          return probes;
        })
        .toBeGreaterThan(0);
      events.length = 0;
      for (const batch of batches(uans, 10)) await actorMove(t.db, batch, to);
      await expect.poll(() => events.length).toBe(3);
      const counts = events.map((e) => (e.type === "actors" ? Object.fromEntries(e.vms.map((v) => [v.id, v.actorCount])) : e));
      expect(counts).toEqual([
        { [from]: 20, [to]: 10 },
        { [from]: 10, [to]: 20 },
        { [from]: 0, [to]: 30 },
      ]);
      expect(events[2]).toMatchObject({
        type: "actors",
        vms: expect.arrayContaining([{ id: to, actorCount: 30, firstOrdinal: 9000, lastOrdinal: 9029 }]),
      });

      // A statement touching more VMs than a NOTIFY payload can describe asks for a refetch instead.
      events.length = 0;
      const many = await Promise.all(Array.from({ length: 60 }, () => newVm()));
      await actorCreateMany(
        t.db,
        many.map((vmId, i) => ({
          uan: `uan://heat/many-${i}`,
          applicationId: "heat",
          vmId,
          behavior: "heat-slab",
          ordinal: 20000 + i,
        })),
      );
      await expect.poll(() => events.length).toBe(1);
      expect(events[0]).toEqual({ type: "topology" });
    } finally {
      stop();
    }
  });
});
