// Hosts registered at run time and connections that drop and come back, on real parts: embedded
// Postgres (LISTEN/NOTIFY), libvirt's test driver and a running worker.
import { randomUUID } from "node:crypto";
import { mkdirSync, mkdtempSync, renameSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCaller, createEventHub } from "@malleo/api";
import { applicationUpsert, hostRegister, publishEvent, vmCreate } from "@malleo/db";
import { createTestDatabase, type TestDatabase } from "@malleo/db/admin";
import { simulatedHostFile, testUriFile } from "@malleo/hypervisor";
import { waitFor } from "@malleo/testing";
import { startTestWorker, type TestWorker } from "@malleo/testing/worker";
import type { RunningWorker } from "./worker";

let t: TestDatabase;
let running: TestWorker;
let worker: RunningWorker;
let dataDir: string;

const admin = () =>
  createCaller({
    db: t.db,
    events: createEventHub("postgres://unused"),
    headers: new Headers(),
    user: { id: randomUUID(), name: "ada", role: "admin", via: "token" },
  });

const hostRow = (id: string) => t.db.host.findUniqueOrThrow({ where: { id } });

beforeAll(async () => {
  t = await createTestDatabase({ systemDatabase: true });
  running = await startTestWorker(t, {
    name: "reconnect",
    seed: async (dir) => {
      dataDir = dir;
      process.env.MALLEO_DATA_DIR = dataDir; // the API takes simulated hosts' files only from the data directory
      await applicationUpsert(t.db, { id: "heat", kind: "heat", config: {} });
    },
    env: {
      // No periodic pass: whatever happens below is the VM Manager's own doing.
      MALLEO_CPU_SAMPLE_MS: "3600000",
      MALLEO_RECONCILE_MS: "3600000",
    },
  });
  worker = running.worker;
});

afterAll(async () => {
  await running?.stop();
  await t?.drop();
});

describe("hosts registered at run time", () => {
  it("connects a host registered through the API without a restart, reads its capacity and marks it online", async () => {
    const uri = simulatedHostFile(path.join(dataDir, "added"), { id: "pm-new", cpus: 6, memoryMiB: 12288 });
    await admin().hosts.register({ name: "pm-new", uri, vmQuota: 3, cpuOvercommit: 2 });
    const h = await waitFor("pm-new online", async () => {
      const row = await hostRow("pm-new");
      return row.status === "online" ? row : undefined;
    });
    expect([h.cpus, h.memoryMiB, h.statusReason, h.cpuOvercommit]).toEqual([6, 12288, null, 2]);
    expect(worker.vms.connections().get("pm-new")?.spec.uri).toBe(uri);
    const listed = (await admin().hosts.list()).find((x) => x.id === "pm-new")!;
    expect(listed.placeable).toEqual({ vcpus: 12, memoryMiB: 12288 });
  });

  it("shows a registered host it cannot reach as unreachable with libvirt's reason, and keeps retrying", async () => {
    const missing = path.join(dataDir, "nowhere", "pm-void.xml");
    await admin().hosts.register({ name: "pm-void", uri: `test://${missing}`, vmQuota: 1 });
    const h = await waitFor("pm-void marked unreachable with the reason", async () => {
      const row = await hostRow("pm-void");
      return row.statusReason?.includes("does not exist") ? row : undefined;
    });
    expect(h.status).toBe("unreachable");
    expect(h.statusReason).toContain(missing);
    expect(h.cpus).toBe(0);
    await waitFor("a second attempt", async () => ((worker.vms.reconnectState("pm-void")?.attempt ?? 0) >= 1 ? true : undefined));
  });

  it("re-checks a stored host's URI before connecting: a row written around the API is refused, never opened, until its URI is fixed", async () => {
    // A real, valid simulated host file, but outside the data directory: the API refuses it, so
    // it is written straight into Postgres (as a row from before the rules, or by hand in SQL).
    const outside = mkdtempSync(path.join(os.tmpdir(), "malleo-outside-"));
    const uri = simulatedHostFile(path.join(outside, "pm-sneak"), { id: "pm-sneak", cpus: 2, memoryMiB: 2048 });
    await hostRegister(t.db, { id: "pm-sneak", uri, vmQuota: 1 });
    await publishEvent(t.db, { type: "topology" });
    const h = await waitFor("pm-sneak refused", async () => {
      const row = await hostRow("pm-sneak");
      return row.statusReason?.startsWith("URI refused") ? row : undefined;
    });
    expect(h.status).toBe("unreachable");
    expect(h.statusReason).toContain("outside the data directory");
    expect(h.cpus).toBe(0); // libvirt never read it
    expect(worker.vms.connections().has("pm-sneak")).toBe(false);
    expect(worker.vms.reconnectState("pm-sneak")).toBeUndefined(); // not retried
    // A reconciliation pass keeps the rule's message rather than a generic libvirt failure.
    await worker.reconcile();
    expect((await hostRow("pm-sneak")).statusReason).toBe(h.statusReason);

    // Its URI fixed (a file in the data directory), it connects.
    const inside = simulatedHostFile(path.join(dataDir, "pm-sneak"), { id: "pm-sneak", cpus: 2, memoryMiB: 2048 });
    await hostRegister(t.db, { id: "pm-sneak", uri: inside, vmQuota: 1 });
    await publishEvent(t.db, { type: "topology" });
    await waitFor("pm-sneak online", async () => ((await hostRow("pm-sneak")).status === "online" ? true : undefined));
    await admin().hosts.remove({ id: "pm-sneak" });
    rmSync(outside, { recursive: true, force: true });
  });

  it("forgets a removed host: its connection is closed and it is no longer retried", async () => {
    await admin().hosts.remove({ id: "pm-void" });
    await waitFor("pm-void forgotten", async () => (worker.vms.reconnectState("pm-void") === undefined ? true : undefined));
    await admin().hosts.remove({ id: "pm-new" });
    await waitFor("pm-new closed", async () => (worker.vms.connections().has("pm-new") ? undefined : true));
  });
});

describe("reconnect with backoff", () => {
  it("a dropped host is unreachable with the libvirt error while it is gone, keeps its VMs, and is back online when it returns", async () => {
    const vmId = randomUUID();
    await vmCreate(t.db, {
      id: vmId,
      name: "on-pm-3",
      hostId: "pm-3",
      applicationId: "heat",
      vcpus: 1,
      memoryMiB: 256,
      state: "running",
    });
    const pm3 = worker.vms.connections().get("pm-3")!;
    await pm3.domainCreate({ name: "on-pm-3", uuid: vmId, vcpus: 1, memoryMiB: 256, metadata: { vmId, application: "heat" } });
    const file = testUriFile((await hostRow("pm-3")).uri)!;

    // The machine goes away (its node file disappears) and the connection drops.
    renameSync(file, `${file}.away`);
    await worker.vms.testing.disconnectHost("pm-3");
    const down = await waitFor("pm-3 unreachable", async () => {
      const row = await hostRow("pm-3");
      return row.status === "unreachable" ? row : undefined;
    });
    expect(down.statusReason).toMatch(/HOST_UNREACHABLE: simulated host file .*pm-3\.xml does not exist/);
    // Retries back off: each failed attempt waits longer than the one before (0.5 s, 1 s, 2 s … ± 20%).
    const delays: number[] = [];
    await waitFor(
      "three failed reconnect attempts",
      async () => {
        const r = worker.vms.reconnectState("pm-3");
        if (r && delays[r.attempt] === undefined) delays[r.attempt] = r.nextDelayMs;
        return r && r.attempt >= 3 ? true : undefined;
      },
      { intervalMs: 20 },
    );
    const seen = delays.filter((d) => d !== undefined);
    expect(seen.length).toBeGreaterThanOrEqual(3);
    for (let i = 1; i < seen.length; i++) expect(seen[i]!).toBeGreaterThan(seen[i - 1]!);
    expect(worker.vms.connections().has("pm-3")).toBe(false);
    expect((await t.db.vm.findUniqueOrThrow({ where: { id: vmId } })).state).toBe("running");

    // The machine comes back: the next scheduled attempt reconnects, rebuilds its domains and marks it online.
    mkdirSync(path.dirname(file), { recursive: true });
    renameSync(`${file}.away`, file);
    const up = await waitFor("pm-3 online again", async () => {
      const row = await hostRow("pm-3");
      return row.status === "online" ? row : undefined;
    });
    expect(up.statusReason).toBeNull();
    expect(worker.vms.reconnectState("pm-3")).toBeUndefined();
    expect((await worker.vms.connections().get("pm-3")!.domainGet("on-pm-3"))?.active).toBe(true);
  });
});
