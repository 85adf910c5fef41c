/**
 * Domain XML: generation (per host kind) and the little parsing Malleo needs back
 * (name, uuid, type, id, vcpus, memory, malleo metadata). Pure, no I/O.
 *
 * Generation is string templating with strict escaping of every interpolated value; parsing
 * is targeted regex extraction over libvirt's own (well-formed, predictable) output, which
 * keeps the package free of an XML dependency.
 */
import type { DomainSpec, HostKind, QemuGuestConfig } from "./types";

/** Namespace of Malleo's element inside <metadata>. Changing it orphans existing domains. */
export const MALLEO_METADATA_NS = "https://malleo.dev/xmlns/libvirt/domain/1.0";
export const MALLEO_METADATA_PREFIX = "malleo";

/** How to render a domain for a host: the seam between the test driver and real guests. */
export type DomainXmlTarget = { kind: "test" } | { kind: "qemu"; guest: QemuGuestConfig };

// ---------------------------------------------------------------------------------------------
// Escaping

/** Characters not allowed in XML 1.0 documents (even escaped). */
// eslint-disable-next-line no-control-regex
const XML_INVALID_CHARS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/;

export function hasInvalidXmlChars(s: string): boolean {
  return XML_INVALID_CHARS.test(s);
}

/** Escapes text or attribute content (both quote styles, CR kept as a character reference). */
export function escapeXml(s: string): string {
  return s
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;")
    .replace(/\r/g, "&#13;");
}

export function unescapeXml(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|lt|gt|amp|quot|apos);/g, (_m, ent: string) => {
    switch (ent) {
      case "lt":
        return "<";
      case "gt":
        return ">";
      case "amp":
        return "&";
      case "quot":
        return '"';
      case "apos":
        return "'";
      default:
        return String.fromCodePoint(ent.startsWith("#x") ? parseInt(ent.slice(2), 16) : parseInt(ent.slice(1), 10));
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Validation (shared with domain.ts)

export const DOMAIN_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
export const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
export const METADATA_KEY_RE = /^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/;
export const MAC_RE = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;
export const MAX_VCPUS = 4096;
export const MAX_MEMORY_MIB = 64 * 1024 * 1024; // 64 TiB

/** Returns the problems of a DomainSpec (empty when valid). */
export function domainSpecProblems(d: DomainSpec): string[] {
  const p: string[] = [];
  if (typeof d !== "object" || d === null) return ["spec must be an object"];
  if (typeof d.name !== "string" || !DOMAIN_NAME_RE.test(d.name))
    p.push(`name ${JSON.stringify(d.name)} must match ${DOMAIN_NAME_RE}`);
  if (typeof d.uuid !== "string" || !UUID_RE.test(d.uuid))
    p.push(`uuid ${JSON.stringify(d.uuid)} must be an 8-4-4-4-12 hex UUID`);
  if (!Number.isInteger(d.vcpus) || d.vcpus < 1 || d.vcpus > MAX_VCPUS)
    p.push(`vcpus ${String(d.vcpus)} must be an integer in 1..${MAX_VCPUS}`);
  if (!Number.isInteger(d.memoryMiB) || d.memoryMiB < 1 || d.memoryMiB > MAX_MEMORY_MIB)
    p.push(`memoryMiB ${String(d.memoryMiB)} must be an integer in 1..${MAX_MEMORY_MIB}`);
  if (d.metadata !== undefined) {
    if (typeof d.metadata !== "object" || d.metadata === null) p.push("metadata must be an object");
    else
      for (const [k, v] of Object.entries(d.metadata)) {
        if (!METADATA_KEY_RE.test(k)) p.push(`metadata key ${JSON.stringify(k)} must match ${METADATA_KEY_RE}`);
        if (typeof v !== "string") p.push(`metadata[${JSON.stringify(k)}] must be a string`);
        else if (hasInvalidXmlChars(v)) p.push(`metadata[${JSON.stringify(k)}] contains characters XML cannot hold`);
      }
  }
  if (d.guest !== undefined) {
    if (d.guest.kernelArgs !== undefined && (typeof d.guest.kernelArgs !== "string" || hasInvalidXmlChars(d.guest.kernelArgs)))
      p.push("guest.kernelArgs must be a plain string");
    if (d.guest.macAddress !== undefined && !MAC_RE.test(d.guest.macAddress))
      p.push(`guest.macAddress ${JSON.stringify(d.guest.macAddress)} must look like 52:54:00:xx:xx:xx`);
    if (
      d.guest.consoleLog !== undefined &&
      (typeof d.guest.consoleLog !== "string" || !d.guest.consoleLog.startsWith("/") || hasInvalidXmlChars(d.guest.consoleLog))
    )
      p.push("guest.consoleLog must be an absolute path");
  }
  return p;
}

// ---------------------------------------------------------------------------------------------
// Generation

export function metadataXml(metadata: Record<string, string> | undefined, indent = "    "): string {
  const entries = Object.entries(metadata ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const lines = [`${indent}<${MALLEO_METADATA_PREFIX}:vm xmlns:${MALLEO_METADATA_PREFIX}="${MALLEO_METADATA_NS}">`];
  for (const [k, v] of entries)
    lines.push(
      `${indent}  <${MALLEO_METADATA_PREFIX}:entry key="${escapeXml(k)}">${escapeXml(v)}</${MALLEO_METADATA_PREFIX}:entry>`,
    );
  lines.push(`${indent}</${MALLEO_METADATA_PREFIX}:vm>`);
  return lines.join("\n");
}

function commonHead(d: DomainSpec, virtType: string): string[] {
  const kib = d.memoryMiB * 1024;
  return [
    `<domain type='${escapeXml(virtType)}'>`,
    `  <name>${escapeXml(d.name)}</name>`,
    `  <uuid>${d.uuid.toLowerCase()}</uuid>`,
    `  <metadata>`,
    metadataXml(d.metadata),
    `  </metadata>`,
    `  <memory unit='KiB'>${kib}</memory>`,
    `  <currentMemory unit='KiB'>${kib}</currentMemory>`,
    `  <vcpu placement='static'>${d.vcpus}</vcpu>`,
  ];
}

/** Domain XML for libvirt's test driver (`test:///…`): no devices, nothing boots. */
export function testDomainXml(d: DomainSpec): string {
  return [
    ...commonHead(d, "test"),
    `  <os>`,
    `    <type>hvm</type>`,
    `  </os>`,
    `  <on_poweroff>destroy</on_poweroff>`,
    `  <on_reboot>restart</on_reboot>`,
    `  <on_crash>destroy</on_crash>`,
    `</domain>`,
    ``,
  ].join("\n");
}

/**
 * Domain XML for a real guest on a qemu host: direct kernel boot of the project's guest image
 * (kernel + initramfs, no disk), serial console, optional bridge NIC, no USB and no balloon.
 * Validated against libvirt's RNG schema (virt-xml-validate); not booted by this package's tests.
 */
export function qemuDomainXml(d: DomainSpec, g: QemuGuestConfig): string {
  const cmdline = [g.cmdline ?? "", d.guest?.kernelArgs ?? ""].filter((s) => s.trim() !== "").join(" ");
  const lines = [
    ...commonHead(d, g.virtType),
    `  <os>`,
    `    <type arch='x86_64' machine='${escapeXml(g.machine ?? "pc")}'>hvm</type>`,
    `    <kernel>${escapeXml(g.kernel)}</kernel>`,
    `    <initrd>${escapeXml(g.initrd)}</initrd>`,
    ...(cmdline ? [`    <cmdline>${escapeXml(cmdline)}</cmdline>`] : []),
    `  </os>`,
    `  <features>`,
    `    <acpi/>`,
    `  </features>`,
    // Under software emulation the theater's Node starts about a second sooner on QEMU's richest
    // emulated CPU than on qemu64 (the kernel boots ~0.3 s slower): see docs/benchmarks.md.
    g.virtType === "kvm" ? `  <cpu mode='host-passthrough'/>` : `  <cpu mode='maximum' check='none'/>`,
    `  <clock offset='utc'/>`,
    `  <on_poweroff>destroy</on_poweroff>`,
    `  <on_reboot>destroy</on_reboot>`,
    `  <on_crash>destroy</on_crash>`,
    `  <devices>`,
    ...(g.emulator ? [`    <emulator>${escapeXml(g.emulator)}</emulator>`] : []),
    ...(g.bridge
      ? [
          `    <interface type='bridge'>`,
          `      <source bridge='${escapeXml(g.bridge)}'/>`,
          ...(d.guest?.macAddress ? [`      <mac address='${d.guest.macAddress.toLowerCase()}'/>`] : []),
          `      <model type='virtio'/>`,
          `    </interface>`,
        ]
      : []),
    `    <serial type='pty'>`,
    ...(d.guest?.consoleLog ? [`      <log file='${escapeXml(d.guest.consoleLog)}' append='off'/>`] : []),
    `      <target port='0'/>`,
    `    </serial>`,
    `    <console type='pty'>`,
    `      <target type='serial' port='0'/>`,
    `    </console>`,
    `    <memballoon model='none'/>`,
    // No USB controller (libvirt adds one by default): one device fewer to emulate and probe.
    `    <controller type='usb' model='none'/>`,
    `  </devices>`,
    `</domain>`,
    ``,
  ];
  return lines.join("\n");
}

/** The domain XML for a host kind. Assumes a valid spec (see domainSpecProblems). */
export function buildDomainXml(d: DomainSpec, target: DomainXmlTarget): string {
  switch (target.kind) {
    case "test":
      return testDomainXml(d);
    case "qemu":
      return qemuDomainXml(d, target.guest);
  }
}

export function domainXmlTarget(kind: HostKind, qemu: QemuGuestConfig | undefined): DomainXmlTarget | undefined {
  if (kind === "test") return { kind: "test" };
  return qemu ? { kind: "qemu", guest: qemu } : undefined;
}

// ---------------------------------------------------------------------------------------------
// Parsing

export interface ParsedDomainXml {
  /** <domain type='…'> */
  virtType: string;
  /** Present only in the live XML of an active domain. */
  id: number | undefined;
  name: string;
  uuid: string;
  vcpus: number;
  memoryMiB: number;
  /** Entries of the malleo metadata element. */
  metadata: Record<string, string>;
  /** Whether the malleo metadata element is present. */
  managed: boolean;
}

function attr(attrs: string, name: string): string | undefined {
  const m = new RegExp(`(?:^|\\s)${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)')`).exec(attrs);
  if (!m) return undefined;
  return unescapeXml(m[1] ?? m[2] ?? "");
}

const UNIT_BYTES: Record<string, number> = {
  b: 1,
  bytes: 1,
  kb: 1e3,
  k: 1024,
  kib: 1024,
  mb: 1e6,
  m: 1024 ** 2,
  mib: 1024 ** 2,
  gb: 1e9,
  g: 1024 ** 3,
  gib: 1024 ** 3,
  tb: 1e12,
  t: 1024 ** 4,
  tib: 1024 ** 4,
};

/** Converts a libvirt memory amount (default unit KiB) to MiB, rounded down. */
export function memoryToMiB(value: number, unit: string | undefined): number {
  const factor = UNIT_BYTES[(unit ?? "KiB").toLowerCase()];
  if (factor === undefined) throw new Error(`unknown memory unit ${JSON.stringify(unit)}`);
  return Math.floor((value * factor) / 1024 ** 2);
}

/** Extracts the malleo metadata entries from a domain XML (or from a bare metadata snippet). */
export function parseMalleoMetadata(xml: string): { managed: boolean; metadata: Record<string, string> } {
  // Find the prefix bound to our namespace (libvirt keeps ours, but be tolerant).
  const ns = new RegExp(
    `<([A-Za-z_][\\w.-]*):vm\\b([^>]*?)xmlns:\\1\\s*=\\s*["']${MALLEO_METADATA_NS.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}["'][^>]*?(/?)>`,
  ).exec(xml);
  if (!ns) return { managed: false, metadata: {} };
  const prefix = ns[1] as string;
  const metadata: Record<string, string> = {};
  if (ns[3] === "/") return { managed: true, metadata };
  const start = ns.index + ns[0].length;
  const end = xml.indexOf(`</${prefix}:vm>`, start);
  const body = xml.slice(start, end < 0 ? undefined : end);
  const entry = new RegExp(`<${prefix}:entry\\b([^>]*?)(?:/>|>([\\s\\S]*?)</${prefix}:entry>)`, "g");
  for (const m of body.matchAll(entry)) {
    const key = attr(m[1] ?? "", "key");
    if (key !== undefined) metadata[key] = unescapeXml(m[2] ?? "");
  }
  return { managed: true, metadata };
}

/** Parses the parts of a libvirt domain XML that Malleo needs. Throws on XML it cannot read. */
export function parseDomainXml(xml: string): ParsedDomainXml {
  const root = /<domain\b([^>]*)>/.exec(xml);
  if (!root) throw new Error("not a domain XML: no <domain> element");
  const rootAttrs = root[1] ?? "";
  const { managed, metadata } = parseMalleoMetadata(xml);
  // Drop <metadata> so foreign elements inside it cannot be mistaken for ours.
  const rest = xml.replace(/<metadata\b[^>]*\/>|<metadata\b[^>]*>[\s\S]*?<\/metadata>/, "");
  const text = (tag: string): { attrs: string; value: string } | undefined => {
    const m = new RegExp(`<${tag}\\b([^>]*)>([^<]*)</${tag}>`).exec(rest);
    return m ? { attrs: m[1] ?? "", value: unescapeXml((m[2] ?? "").trim()) } : undefined;
  };
  const name = text("name");
  const uuid = text("uuid");
  const memory = text("memory");
  const vcpu = text("vcpu");
  if (!name) throw new Error("domain XML has no <name>");
  const idAttr = attr(rootAttrs, "id");
  let vcpus = vcpu ? Number(vcpu.value) : NaN;
  // <vcpu current='n'>max</vcpu>: the current count is what runs.
  const current = vcpu ? attr(vcpu.attrs, "current") : undefined;
  if (current !== undefined) vcpus = Number(current);
  return {
    virtType: attr(rootAttrs, "type") ?? "",
    id: idAttr === undefined ? undefined : Number(idAttr),
    name: name.value,
    uuid: (uuid?.value ?? "").toLowerCase(),
    vcpus,
    memoryMiB: memory ? memoryToMiB(Number(memory.value), attr(memory.attrs, "unit")) : NaN,
    metadata,
    managed,
  };
}
