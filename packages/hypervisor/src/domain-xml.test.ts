import { describe, expect, it } from "vitest";
import {
  buildDomainXml,
  domainSpecProblems,
  escapeXml,
  MALLEO_METADATA_NS,
  memoryToMiB,
  parseDomainXml,
  parseMalleoMetadata,
  qemuDomainXml,
  testDomainXml,
  unescapeXml,
} from "./domain-xml";
import type { DomainSpec, QemuGuestConfig } from "./types";

const spec: DomainSpec = {
  name: "vm-a1",
  uuid: "0F8FAD5B-D9CB-469F-A165-70867728950E",
  vcpus: 2,
  memoryMiB: 512,
  metadata: { vmId: "vm_123", app: "heat" },
};

const guest: QemuGuestConfig = {
  virtType: "qemu",
  kernel: "/var/lib/malleo/vmlinuz",
  initrd: "/var/lib/malleo/initrd.zst",
  cmdline: "console=ttyS0 rootfstype=ramfs",
  bridge: "malleo0",
};

describe("escaping", () => {
  it("round-trips awkward text", () => {
    const s = `a<b>&"c"'d'\r\n\té€😀`;
    expect(unescapeXml(escapeXml(s))).toBe(s);
    expect(escapeXml(s)).not.toMatch(/[<>"'\r]/);
  });
  it("decodes numeric references", () => {
    expect(unescapeXml("&#65;&#x42;&#13;")).toBe("AB\r");
  });
});

describe("testDomainXml", () => {
  it("renders a test-driver domain with units in KiB and metadata in the malleo namespace", () => {
    const xml = testDomainXml(spec);
    expect(xml).toContain("<domain type='test'>");
    expect(xml).toContain("<name>vm-a1</name>");
    expect(xml).toContain("<uuid>0f8fad5b-d9cb-469f-a165-70867728950e</uuid>");
    expect(xml).toContain("<memory unit='KiB'>524288</memory>");
    expect(xml).toContain("<vcpu placement='static'>2</vcpu>");
    expect(xml).toContain(`xmlns:malleo="${MALLEO_METADATA_NS}"`);
    expect(xml).toContain(`<malleo:entry key="app">heat</malleo:entry>`);
    expect(xml).not.toContain("<kernel>");
  });

  it("round-trips through parseDomainXml", () => {
    const p = parseDomainXml(testDomainXml(spec));
    expect(p).toEqual({
      virtType: "test",
      id: undefined,
      name: "vm-a1",
      uuid: "0f8fad5b-d9cb-469f-a165-70867728950e",
      vcpus: 2,
      memoryMiB: 512,
      metadata: { vmId: "vm_123", app: "heat" },
      managed: true,
    });
  });

  it("escapes metadata values", () => {
    const p = parseDomainXml(testDomainXml({ ...spec, metadata: { note: `</malleo:entry><x y="1">&amp;` } }));
    expect(p.metadata).toEqual({ note: `</malleo:entry><x y="1">&amp;` });
  });

  it("writes an empty metadata element when no metadata is given", () => {
    const p = parseDomainXml(testDomainXml({ ...spec, metadata: undefined }));
    expect(p.managed).toBe(true);
    expect(p.metadata).toEqual({});
  });
});

describe("qemuDomainXml (the seam for real guests)", () => {
  it("boots kernel + initrd with per-VM kernel args, bridge NIC and serial console", () => {
    const xml = qemuDomainXml(
      { ...spec, guest: { kernelArgs: "malleo.ip=10.77.0.12/24", macAddress: "52:54:00:AA:BB:CC" } },
      guest,
    );
    expect(xml).toContain("<domain type='qemu'>");
    expect(xml).toContain("<kernel>/var/lib/malleo/vmlinuz</kernel>");
    expect(xml).toContain("<initrd>/var/lib/malleo/initrd.zst</initrd>");
    expect(xml).toContain("<cmdline>console=ttyS0 rootfstype=ramfs malleo.ip=10.77.0.12/24</cmdline>");
    expect(xml).toContain("<source bridge='malleo0'/>");
    expect(xml).toContain("<mac address='52:54:00:aa:bb:cc'/>");
    expect(xml).toContain("<serial type='pty'>");
    const p = parseDomainXml(xml);
    expect(p.virtType).toBe("qemu");
    expect(p.memoryMiB).toBe(512);
  });

  it("uses host-passthrough for kvm and QEMU's maximum emulated CPU for software emulation", () => {
    const kvm = qemuDomainXml(spec, { ...guest, virtType: "kvm" });
    expect(kvm).toContain("<cpu mode='host-passthrough'/>");
    expect(kvm).not.toContain("mode='maximum'");
    const tcg = qemuDomainXml(spec, guest);
    expect(tcg).toContain("<cpu mode='maximum' check='none'/>");
    expect(tcg).not.toContain("host-passthrough");
  });

  it("leaves out the USB controller and the memory balloon libvirt would add", () => {
    const xml = qemuDomainXml(spec, guest);
    expect(xml).toContain("<controller type='usb' model='none'/>");
    expect(xml).toContain("<memballoon model='none'/>");
    // Inside <devices>, so libvirt applies them.
    const devices = xml.slice(xml.indexOf("<devices>"), xml.indexOf("</devices>"));
    expect(devices).toContain("<controller type='usb' model='none'/>");
  });

  it("is selected by buildDomainXml for qemu targets", () => {
    expect(buildDomainXml(spec, { kind: "qemu", guest })).toContain("<kernel>");
    expect(buildDomainXml(spec, { kind: "test" })).toContain("<domain type='test'>");
  });
});

describe("parseDomainXml on libvirt's own output", () => {
  // Captured from the test driver (active domain, so it has an id).
  const live = `<domain type='test' id='3'>
  <name>vm-b</name>
  <uuid>11111111-2222-3333-4444-555555555555</uuid>
  <metadata>
    <other:thing xmlns:other="https://example.com/x"><name>not-me</name><vcpu>99</vcpu></other:thing>
    <malleo:vm xmlns:malleo="${MALLEO_METADATA_NS}">
      <malleo:entry key="a">&lt;&amp;&gt;"' é 
 line2</malleo:entry>
      <malleo:entry key="e"/>
      <malleo:entry key="cr">a&#13;b</malleo:entry>
    </malleo:vm>
  </metadata>
  <memory unit='KiB'>1048576</memory>
  <currentMemory unit='KiB'>1048576</currentMemory>
  <vcpu placement='static' current='3'>4</vcpu>
  <os>
    <type arch='i686'>hvm</type>
    <boot dev='hd'/>
  </os>
  <devices>
  </devices>
</domain>
`;
  it("reads id, name, uuid, current vcpus, memory and metadata, ignoring foreign metadata", () => {
    expect(parseDomainXml(live)).toEqual({
      virtType: "test",
      id: 3,
      name: "vm-b",
      uuid: "11111111-2222-3333-4444-555555555555",
      vcpus: 3,
      memoryMiB: 1024,
      metadata: { a: "<&>\"' é \n line2", e: "", cr: "a\rb" },
      managed: true,
    });
  });

  it("reports unmanaged domains", () => {
    const p = parseMalleoMetadata("<domain type='kvm'><name>x</name></domain>");
    expect(p).toEqual({ managed: false, metadata: {} });
  });

  it("rejects non-domain XML", () => {
    expect(() => parseDomainXml("<node/>")).toThrow(/no <domain>/);
  });
});

describe("memoryToMiB", () => {
  it("follows libvirt's unit table (default KiB, KB = 1000 bytes)", () => {
    expect(memoryToMiB(524288, undefined)).toBe(512);
    expect(memoryToMiB(2, "GiB")).toBe(2048);
    expect(memoryToMiB(512, "M")).toBe(512);
    expect(memoryToMiB(1_048_576_000, "bytes")).toBe(1000);
    expect(memoryToMiB(1000, "KB")).toBe(0);
    expect(() => memoryToMiB(1, "parsec")).toThrow();
  });
});

describe("domainSpecProblems", () => {
  it("accepts a valid spec", () => {
    expect(domainSpecProblems(spec)).toEqual([]);
  });
  it.each([
    [{ name: "" }, /name/],
    [{ name: "bad/name" }, /name/],
    [{ name: "-lead" }, /name/],
    [{ uuid: "not-a-uuid" }, /uuid/],
    [{ vcpus: 0 }, /vcpus/],
    [{ vcpus: 1.5 }, /vcpus/],
    [{ memoryMiB: -1 }, /memoryMiB/],
    [{ memoryMiB: Number.NaN }, /memoryMiB/],
    [{ metadata: { "1bad": "x" } }, /metadata key/],
    [{ metadata: { ok: "\u0001" } }, /XML cannot hold/],
    [{ guest: { macAddress: "zz" } }, /macAddress/],
  ] as [Partial<DomainSpec>, RegExp][])("rejects %j", (patch, re) => {
    const problems = domainSpecProblems({ ...spec, ...patch });
    expect(problems.join("\n")).toMatch(re);
  });
});
