// "Test connection" (hosts.test) on real parts: the API's request through Postgres, a running
// worker that claims it and opens the URI with libvirt (test driver; ssh for the failures), and
// the answer read back. Nothing is registered or changed.
import { randomUUID } from "node:crypto";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCaller, createEventHub } from "@malleo/api";
import { createTestDatabase, type TestDatabase } from "@malleo/db/admin";
import { simulatedHostFile } from "@malleo/hypervisor";
import { startTestWorker, type TestWorker } from "@malleo/testing/worker";

let t: TestDatabase;
let running: TestWorker;
let dataDir: string;

const admin = () =>
  createCaller({
    db: t.db,
    events: createEventHub("postgres://unused"),
    headers: new Headers(),
    user: { id: randomUUID(), name: "ada", role: "admin", via: "token" },
  });

/** What a test must leave as it found: the hosts and no request row. */
const snapshot = async () => ({
  hosts: await t.db.host.findMany({ orderBy: { id: "asc" } }),
  probes: await t.db.hostProbe.count(),
});

beforeAll(async () => {
  t = await createTestDatabase({ systemDatabase: true });
  running = await startTestWorker(t, {
    name: "host-probe",
    seed: async (dir) => {
      dataDir = dir;
      process.env.MALLEO_DATA_DIR = dataDir; // the API takes simulated hosts' files only from the data directory
    },
    env: {
      MALLEO_CPU_SAMPLE_MS: "3600000",
      MALLEO_RECONCILE_MS: "3600000",
    },
  });
});

afterAll(async () => {
  await running?.stop();
  await t?.drop();
});

describe("hosts.test through a running worker", () => {
  it("answers what libvirt reports for a good URI, registering nothing, and is audited", async () => {
    const before = await snapshot();
    const uri = simulatedHostFile(path.join(dataDir, "candidates"), { id: "pm-cand", cpus: 6, memoryMiB: 12288 });
    const answer = await admin().hosts.test({ uri });
    expect(answer).toMatchObject({ ok: true, cpus: 6, memoryMiB: 12288, model: "malleo-sim" });
    expect(answer.ok && typeof answer.hostname).toBe("string");
    // test:///default is libvirt's own fixed simulated machine: 16 CPUs, 3 GiB.
    expect(await admin().hosts.test({ uri: "test:///default" })).toMatchObject({ ok: true, cpus: 16, memoryMiB: 3072 });
    expect(await snapshot()).toEqual(before);
    const audit = await t.db.auditEvent.findMany({ where: { procedure: "hosts.test" }, orderBy: { id: "asc" } });
    expect(audit.map((r) => [r.actor, r.ok, r.input])).toEqual([
      ["ada", true, { uri }],
      ["ada", true, { uri: "test:///default" }],
    ]);
    expect(audit[1]!.target).toBe("URI test:///default");
  });

  it("answers ok:false with a plain reason for a URI it cannot reach: missing file, refused, unknown host", async () => {
    const before = await snapshot();
    const missing = path.join(dataDir, "nowhere", "pm-void.xml");
    expect(await admin().hosts.test({ uri: `test://${missing}` })).toEqual({
      ok: false,
      kind: "missing-file",
      reason: `simulated host file ${missing} does not exist`,
      detail: `simulated host file ${missing} does not exist (uri test://${missing})`,
    });
    // Port 1 on the loopback has nothing listening: ssh is refused at once.
    const refused = await admin().hosts.test({ uri: "qemu+ssh://127.0.0.1:1/system" });
    expect(refused).toMatchObject({ ok: false, kind: "refused", reason: "the host refused the connection" });
    expect(!refused.ok && refused.detail).toContain("Connection refused");
    const unknown = await admin().hosts.test({ uri: "qemu+ssh://pm-nowhere.invalid/system" });
    expect(unknown).toMatchObject({ ok: false, kind: "unknown-host", reason: "the host name could not be resolved" });
    expect(!unknown.ok && unknown.detail).toContain("pm-nowhere.invalid");
    expect(await snapshot()).toEqual(before);
  });
});
