import { randomUUID } from "node:crypto";
import { ACTOR_DETAIL_LIMIT, actorCreateMany, applicationUpsert, hostUpsert, vmCreate } from "@malleo/db";
import { createTestDatabase, type TestDatabase } from "@malleo/db/admin";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEventHub } from "./event-hub";
import { createCaller } from "./root";

/** The topology query keeps its shape at scale: counts always, actor rows only while there are few. */
let t: TestDatabase;
const small = randomUUID();
const large = randomUUID();

beforeAll(async () => {
  t = await createTestDatabase();
  await hostUpsert(t.db, { id: "pm-1", uri: "test:///default", cpus: 16, memoryMiB: 32768, vmQuota: 4 });
  await applicationUpsert(t.db, { id: "heat", kind: "heat", config: {} });
  for (const [id, name] of [
    [small, "small"],
    [large, "large"],
  ] as const) {
    await vmCreate(t.db, { id, name, hostId: "pm-1", applicationId: "heat", vcpus: 2, memoryMiB: 1024, state: "running" });
  }
  await actorCreateMany(
    t.db,
    Array.from({ length: 10 }, (_, i) => ({
      uan: `uan://heat/a-${i}`,
      applicationId: "heat",
      vmId: small,
      behavior: "b",
      ordinal: i,
    })),
  );
});
afterAll(() => t?.drop());

const caller = () =>
  createCaller({
    db: t.db,
    events: createEventHub("postgres://unused"),
    headers: new Headers(),
    user: { id: "u", name: "v", role: "viewer", via: "token" },
  });

describe("topology.get", () => {
  it("lists each actor while there are few", async () => {
    const topo = await caller().topology.get();
    const vm = topo.hosts[0]!.vms.find((v) => v.name === "small")!;
    expect(topo.actorsDetailed).toBe(true);
    expect(vm.actorCount).toBe(10);
    expect(vm.actors.map((a) => a.ordinal)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(vm.cpuPercent).toBeNull();
  });

  it("carries counts and ordinal ranges only past the detail limit", async () => {
    await actorCreateMany(
      t.db,
      Array.from({ length: ACTOR_DETAIL_LIMIT }, (_, i) => ({
        uan: `uan://heat/b-${i}`,
        applicationId: "heat",
        vmId: large,
        behavior: "b",
        ordinal: 10 + i,
      })),
    );
    const topo = await caller().topology.get();
    const vm = topo.hosts[0]!.vms.find((v) => v.name === "large")!;
    expect(topo.actorsDetailed).toBe(false);
    expect(topo.totalActors).toBe(ACTOR_DETAIL_LIMIT + 10);
    expect(vm).toMatchObject({
      actorCount: ACTOR_DETAIL_LIMIT,
      firstOrdinal: 10,
      lastOrdinal: ACTOR_DETAIL_LIMIT + 9,
      actors: [],
    });
  });
});
