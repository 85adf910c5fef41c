// Real libvirt test driver (in-process, no daemon) through simulatedHostFile in a temp dir.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { randomUUID } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  HostConnection,
  HypervisorError,
  simulatedHostFile,
  testUriForFile,
  type DomainSpec,
  type HypervisorErrorCode,
} from "./index";

let dir: string;
const open: HostConnection[] = [];

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), "malleo hv ")); // the space checks URI encoding
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function host(id: string, cpus = 8, memoryMiB = 16384): Promise<HostConnection> {
  const uri = simulatedHostFile(dir, { id, cpus, memoryMiB });
  const c = await HostConnection.open({ id, uri });
  open.push(c);
  return c;
}

function spec(name: string, patch: Partial<DomainSpec> = {}): DomainSpec {
  return { name, uuid: randomUUID(), vcpus: 2, memoryMiB: 1024, metadata: { vmId: `id-${name}`, app: "heat" }, ...patch };
}

async function expectCode(p: Promise<unknown>, code: HypervisorErrorCode): Promise<HypervisorError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(HypervisorError);
  expect((e as HypervisorError).code).toBe(code);
  return e as HypervisorError;
}

describe("HostConnection on the libvirt test driver", () => {
  it("reads back the node capacity written by simulatedHostFile", async () => {
    const uri = simulatedHostFile(dir, { id: "cap", cpus: 12, memoryMiB: 24576, model: "sim-12c" });
    expect(uri.startsWith("test:///")).toBe(true);
    expect(uri).toContain("%20");
    const c = await HostConnection.open({ id: "cap", uri });
    open.push(c);
    expect(c.kind).toBe("test");
    expect(await c.capacity()).toEqual({ cpus: 12, memoryMiB: 24576, model: "sim-12c", mhz: 2400 });
    expect(await c.domainList()).toEqual([]);
  });

  it("creates, lists, gets and destroys domains", async () => {
    const c = await host("pm-crud");
    const a = spec("vm-a", { vcpus: 3, memoryMiB: 768 });
    const info = await c.domainCreate(a);
    expect(info).toMatchObject({
      name: "vm-a",
      uuid: a.uuid,
      active: true,
      state: "running",
      vcpus: 3,
      memoryMiB: 768,
      metadata: { vmId: "id-vm-a", app: "heat" },
      managed: true,
      virtType: "test",
    });
    expect(typeof info.cpuTimeNs).toBe("number");
    await c.domainCreate(spec("vm-b"));

    expect((await c.domainList()).map((d) => d.name)).toEqual(["vm-a", "vm-b"]);
    expect(await c.domainGet("vm-a")).toMatchObject({ name: "vm-a", active: true });
    expect(await c.domainGet("nope")).toBeUndefined();
    expect(await c.domainGetXml("vm-a")).toContain("<domain type='test'");

    await c.domainDestroy("vm-a");
    expect(await c.domainGet("vm-a")).toBeUndefined();
    expect((await c.domainList()).map((d) => d.name)).toEqual(["vm-b"]);
  });

  it("is idempotent: create twice, destroy twice, restart a stopped matching domain", async () => {
    const c = await host("pm-idem");
    const a = spec("vm-a");
    const first = await c.domainCreate(a);
    const second = await c.domainCreate({ ...a, uuid: a.uuid.toUpperCase() });
    expect(second).toMatchObject({ name: first.name, uuid: first.uuid, active: true });
    expect(await c.domainList()).toHaveLength(1);

    expect(await c.domainStop("vm-a")).toMatchObject({ active: false, state: "shutoff" });
    expect(await c.domainStop("vm-a")).toMatchObject({ active: false });
    expect(await c.domainCreate(a)).toMatchObject({ active: true, state: "running" });

    await c.domainDestroy("vm-a");
    await c.domainDestroy("vm-a");
    await c.domainDestroy("never-existed");
    expect(await c.domainList()).toEqual([]);

    // destroy also removes a stopped (inactive, persistent) domain
    await c.domainCreate(a);
    await c.domainStop("vm-a");
    await c.domainDestroy("vm-a");
    expect(await c.domainGet("vm-a")).toBeUndefined();
  });

  it("serialises concurrent calls on one name and runs different names in parallel", async () => {
    const c = await host("pm-conc");
    const a = spec("vm-a");
    const results = await Promise.all([c.domainCreate(a), c.domainCreate(a), c.domainCreate(a)]);
    expect(new Set(results.map((r) => r.uuid))).toEqual(new Set([a.uuid]));
    await Promise.all(Array.from({ length: 20 }, (_, i) => c.domainCreate(spec(`vm-p${String(i).padStart(2, "0")}`))));
    expect(await c.domainList()).toHaveLength(21);
    await Promise.all((await c.domainList()).map((d) => c.domainDestroy(d.name)));
    expect(await c.domainList()).toEqual([]);
  });

  it("refuses a different domain under an existing name or UUID with DOMAIN_CONFLICT", async () => {
    const c = await host("pm-conflict");
    const a = spec("vm-a");
    await c.domainCreate(a);
    const e = await expectCode(c.domainCreate({ ...a, vcpus: 4 }), "DOMAIN_CONFLICT");
    expect(e.message).toMatch(/vcpus 2 != 4/);
    expect(e.hostId).toBe("pm-conflict");
    expect(e.domain).toBe("vm-a");
    await expectCode(c.domainCreate({ ...a, metadata: { vmId: "someone-else" } }), "DOMAIN_CONFLICT");
    await expectCode(c.domainCreate({ ...a, uuid: randomUUID() }), "DOMAIN_CONFLICT");
    await expectCode(c.domainCreate({ ...a, name: "vm-other" }), "DOMAIN_CONFLICT"); // same UUID
    expect((await c.domainList()).map((d) => d.name)).toEqual(["vm-a"]);
    expect(await c.domainGet("vm-a")).toMatchObject({ vcpus: 2, active: true });
  });

  it("rejects an invalid spec with INVALID_DOMAIN_SPEC before touching libvirt", async () => {
    const c = await host("pm-invalid");
    const e = await expectCode(c.domainCreate(spec("bad/name", { vcpus: 0, uuid: "xyz" })), "INVALID_DOMAIN_SPEC");
    expect(e.message).toMatch(/name/);
    expect(e.message).toMatch(/uuid/);
    expect(e.message).toMatch(/vcpus/);
    await expectCode(c.domainCreate(spec("vm-a", { memoryMiB: 0 })), "INVALID_DOMAIN_SPEC");
    await expectCode(c.domainCreate(spec("vm-a", { metadata: { "bad key": "x" } })), "INVALID_DOMAIN_SPEC");
    expect(await c.domainList()).toEqual([]);
  });

  it("round-trips awkward metadata values through libvirt", async () => {
    const c = await host("pm-meta");
    const metadata = { vmId: "vm_1", app: `a<b>&"c"'d' é 😀\n line2\ttab\r end  ` };
    const info = await c.domainCreate(spec("vm-m", { metadata }));
    expect(info.metadata).toEqual(metadata);
    expect((await c.domainList({ managedOnly: true })).map((d) => d.name)).toEqual(["vm-m"]);
  });

  it("keeps two hosts isolated from each other (and connections to the same file too)", async () => {
    const one = await host("pm-iso-1", 4, 8192);
    const two = await host("pm-iso-2", 16, 65536);
    await one.domainCreate(spec("vm-a"));
    await two.domainCreate(spec("vm-b"));
    expect((await one.domainList()).map((d) => d.name)).toEqual(["vm-a"]);
    expect((await two.domainList()).map((d) => d.name)).toEqual(["vm-b"]);
    expect((await one.capacity()).cpus).toBe(4);
    expect((await two.capacity()).cpus).toBe(16);
    const again = await HostConnection.open(one.spec);
    open.push(again);
    expect(await again.domainList()).toEqual([]);
  });

  it("forgets domains on close (test driver), and refuses calls after close", async () => {
    const c = await host("pm-close");
    await c.domainCreate(spec("vm-a"));
    const pending = c.domainList();
    await c.close();
    expect(await pending).toHaveLength(1); // in-flight calls finish before the close
    expect(c.closed).toBe(true);
    await c.close(); // idempotent
    await expectCode(c.domainList(), "HOST_CLOSED");
    await expectCode(c.domainCreate(spec("vm-b")), "HOST_CLOSED");
    const re = await HostConnection.open(c.spec);
    open.push(re);
    expect(await re.domainList()).toEqual([]);
  });

  it("reports unreachable hosts and invalid host specs", async () => {
    const e = await expectCode(
      HostConnection.open({ id: "ghost", uri: testUriForFile(path.join(dir, "missing.xml")) }),
      "HOST_UNREACHABLE",
    );
    expect(e.hostId).toBe("ghost");
    await expectCode(HostConnection.open({ id: "pm-x", uri: "xen:///system" }), "INVALID_HOST_SPEC");
    await expectCode(HostConnection.open({ id: "", uri: "test:///default" }), "INVALID_HOST_SPEC");
  });
});
