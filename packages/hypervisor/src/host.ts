/**
 * Host-level driver functions: host kind detection, node capacity, and simulated hosts for
 * libvirt's test driver.
 */
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { resolve, sep } from "node:path";
import type { Hypervisor } from "@unraid/libvirt";
import { HypervisorError, wrapLibvirtError } from "./errors";
import { escapeXml } from "./domain-xml";
import type { HostCapacity, HostKind, HostSpec } from "./types";

/** The kind of hypervisor behind a libvirt URI, or undefined if Malleo does not drive it. */
export function hostKindOf(uri: string): HostKind | undefined {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(uri)?.[1]?.toLowerCase();
  if (!scheme) return undefined;
  const driver = scheme.split("+")[0];
  if (driver === "test") return "test";
  if (driver === "qemu") return "qemu";
  return undefined;
}

export const HOST_ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

/** Problems of a HostSpec (empty when valid). */
export function hostSpecProblems(spec: HostSpec): string[] {
  const p: string[] = [];
  if (typeof spec?.id !== "string" || spec.id.trim() === "") p.push(`id ${JSON.stringify(spec?.id)} must be a non-empty string`);
  if (typeof spec?.uri !== "string" || spec.uri === "") p.push("uri must be a non-empty string");
  else if (!hostKindOf(spec.uri)) p.push(`uri ${JSON.stringify(spec.uri)} is neither a test:// nor a qemu URI`);
  else if (hostKindOf(spec.uri) === "test" && !/^test:\/\/\//.test(spec.uri))
    p.push(`test URI ${JSON.stringify(spec.uri)} must be test:///default or test:///<absolute path>`);
  return p;
}

/** nodeGetInfo, in Malleo's units. */
export async function hostCapacity(hv: Hypervisor, host: HostSpec): Promise<HostCapacity> {
  try {
    const n = await hv.nodeGetInfo();
    return { cpus: n.cpus, memoryMiB: Math.floor(n.memory / 1024), model: n.model, mhz: n.mhz };
  } catch (e) {
    throw wrapLibvirtError(e, host.id, "LIBVIRT_ERROR", "nodeGetInfo failed");
  }
}

// ---------------------------------------------------------------------------------------------
// Simulated hosts (libvirt test driver)

export interface SimulatedHost {
  id: string;
  cpus: number;
  memoryMiB: number;
  /** CPU model shown by nodeGetInfo; at most 31 characters (libvirt limit). Default "malleo-sim". */
  model?: string;
  /** Default 2400. */
  mhz?: number;
}

/**
 * The test driver's node file. Verified: nodeGetInfo().cpus comes from <cpu><active>,
 * nodeGetInfo().memory from <memory> (KiB); the topology is kept consistent (1 node, 1 socket,
 * `cpus` cores, 1 thread). No <domain> children: the host starts empty.
 * Note: the test driver does NOT enforce node capacity on domains; quotas are Malleo's job.
 */
export function simulatedNodeXml(host: SimulatedHost): string {
  const problems: string[] = [];
  if (!HOST_ID_RE.test(host.id)) problems.push(`id ${JSON.stringify(host.id)} must match ${HOST_ID_RE}`);
  if (!Number.isInteger(host.cpus) || host.cpus < 1) problems.push(`cpus ${host.cpus} must be a positive integer`);
  if (!Number.isInteger(host.memoryMiB) || host.memoryMiB < 1)
    problems.push(`memoryMiB ${host.memoryMiB} must be a positive integer`);
  const model = host.model ?? "malleo-sim";
  if (model.length === 0 || model.length > 31 || !/^[\x20-\x7e]+$/.test(model))
    problems.push(`model ${JSON.stringify(model)} must be 1..31 printable ASCII characters`);
  const mhz = host.mhz ?? 2400;
  if (!Number.isInteger(mhz) || mhz < 1) problems.push(`mhz ${mhz} must be a positive integer`);
  if (problems.length) throw new HypervisorError("INVALID_HOST_SPEC", String(host.id), problems.join("; "));
  return [
    `<?xml version="1.0"?>`,
    `<!-- Malleo simulated host ${escapeXml(host.id)}: libvirt test driver node, no domains -->`,
    `<node>`,
    `  <cpu>`,
    `    <mhz>${mhz}</mhz>`,
    `    <model>${escapeXml(model)}</model>`,
    `    <active>${host.cpus}</active>`,
    `    <nodes>1</nodes>`,
    `    <sockets>1</sockets>`,
    `    <cores>${host.cpus}</cores>`,
    `    <threads>1</threads>`,
    `  </cpu>`,
    `  <memory>${host.memoryMiB * 1024}</memory>`,
    `</node>`,
    ``,
  ].join("\n");
}

/** The test:/// URI of an absolute file path (segments percent-encoded: libvirt rejects raw spaces). */
export function testUriForFile(absPath: string): string {
  return (
    "test://" +
    absPath
      .split(sep)
      .map((s) => encodeURIComponent(s))
      .join("/")
  );
}

/** The file behind a test:///<path> URI (undefined for test:///default). */
export function testUriFile(uri: string): string | undefined {
  const m = /^test:\/\/(\/[^?#]*)/.exec(uri);
  if (!m || m[1] === "/default") return undefined;
  try {
    return decodeURIComponent(m[1] as string);
  } catch {
    return m[1];
  }
}

/**
 * Writes `<dir>/<id>.xml` (atomically) for libvirt's test driver with that node capacity and no
 * domains, and returns its "test:///<abs path>" URI. Each connection opened on it starts from
 * this file: the test driver keeps domains per connection and forgets them on close.
 */
export function simulatedHostFile(dir: string, host: SimulatedHost): string {
  const xml = simulatedNodeXml(host);
  const absDir = resolve(dir);
  mkdirSync(absDir, { recursive: true });
  const file = resolve(absDir, `${host.id}.xml`);
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  writeFileSync(tmp, xml);
  renameSync(tmp, file);
  return testUriForFile(file);
}
