/**
 * Domain driver functions (cockpit-machines style: one function per libvirt verb), over one
 * open libvirt connection. HostConnection (connection.ts) adds locking and lifecycle on top;
 * call these directly only if you manage the connection yourself.
 */
import { DomainState, type Domain, type Hypervisor } from "@unraid/libvirt";
import { buildDomainXml, domainSpecProblems, domainXmlTarget, parseDomainXml } from "./domain-xml";
import { classifyLibvirtMessage, errorMessage, HypervisorError, wrapLibvirtError } from "./errors";
import type { DomainInfo, DomainListOptions, DomainSpec, DomainStateName, HostKind, HostSpec, QemuGuestConfig } from "./types";

export interface DomainContext {
  hv: Hypervisor;
  host: HostSpec;
  kind: HostKind;
  qemu?: QemuGuestConfig;
}

const STATE_NAMES: Record<number, DomainStateName> = {
  [DomainState.NOSTATE]: "nostate",
  [DomainState.RUNNING]: "running",
  [DomainState.BLOCKED]: "blocked",
  [DomainState.PAUSED]: "paused",
  [DomainState.SHUTDOWN]: "shutdown",
  [DomainState.SHUTOFF]: "shutoff",
  [DomainState.CRASHED]: "crashed",
  [DomainState.PMSUSPENDED]: "pmsuspended",
};

function isNotFound(e: unknown): boolean {
  return classifyLibvirtMessage(errorMessage(e)) === "not-found";
}

/** Looks a domain up by name; undefined when it does not exist. */
export async function domainLookup(ctx: DomainContext, name: string): Promise<Domain | undefined> {
  try {
    return await ctx.hv.domainLookupByName(name);
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw wrapLibvirtError(e, ctx.host.id, "LIBVIRT_ERROR", "domainLookupByName failed", name);
  }
}

/** Reads a domain's info (live XML + getInfo). Throws DOMAIN_NOT_FOUND if it vanished meanwhile. */
export async function domainDescribe(ctx: DomainContext, dom: Domain, nameHint?: string): Promise<DomainInfo> {
  try {
    const [info, xml] = await Promise.all([dom.getInfo(), dom.getXMLDesc()]);
    const parsed = parseDomainXml(xml);
    const state = STATE_NAMES[info.state] ?? "nostate";
    return {
      name: parsed.name,
      uuid: parsed.uuid,
      active: parsed.id !== undefined && parsed.id >= 0 && state !== "shutoff",
      state,
      vcpus: info.nrVirtCpu,
      memoryMiB: Math.floor(info.maxMem / 1024),
      cpuTimeNs: info.cpuTime,
      metadata: parsed.metadata,
      managed: parsed.managed,
      virtType: parsed.virtType,
    };
  } catch (e) {
    throw wrapLibvirtError(e, ctx.host.id, "LIBVIRT_ERROR", "reading domain failed", nameHint);
  }
}

function sameMetadata(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && a[k] === b[k]);
}

/** Differences between a spec and an existing domain (empty when it matches). */
export function domainMismatches(spec: DomainSpec, info: DomainInfo): string[] {
  const m: string[] = [];
  if (info.uuid !== spec.uuid.toLowerCase()) m.push(`uuid ${info.uuid} != ${spec.uuid.toLowerCase()}`);
  if (info.vcpus !== spec.vcpus) m.push(`vcpus ${info.vcpus} != ${spec.vcpus}`);
  if (info.memoryMiB !== spec.memoryMiB) m.push(`memoryMiB ${info.memoryMiB} != ${spec.memoryMiB}`);
  if (!sameMetadata(info.metadata, spec.metadata ?? {}))
    m.push(`metadata ${JSON.stringify(info.metadata)} != ${JSON.stringify(spec.metadata ?? {})}`);
  return m;
}

/** Throws INVALID_DOMAIN_SPEC unless the spec is valid. */
export function assertDomainSpec(hostId: string, spec: DomainSpec): void {
  const problems = domainSpecProblems(spec);
  if (problems.length)
    throw new HypervisorError("INVALID_DOMAIN_SPEC", hostId, `invalid domain spec: ${problems.join("; ")}`, {
      domain: typeof spec?.name === "string" ? spec.name : undefined,
    });
}

/**
 * Define + start. Idempotent: if a domain with that name exists and matches the spec (uuid,
 * vcpus, memory, metadata) it is started if needed and returned; if it differs, DOMAIN_CONFLICT.
 * If start fails after define, the definition is removed again.
 */
export async function domainCreate(ctx: DomainContext, spec: DomainSpec): Promise<DomainInfo> {
  const hostId = ctx.host.id;
  assertDomainSpec(hostId, spec);
  const target = domainXmlTarget(ctx.kind, ctx.qemu);
  if (!target)
    throw new HypervisorError(
      "UNSUPPORTED",
      hostId,
      `host kind ${ctx.kind} needs HostConnectionOptions.qemu (kernel, initrd…) to create domains`,
      { domain: spec.name },
    );

  const existing = await domainLookup(ctx, spec.name);
  if (existing) {
    const info = await domainDescribe(ctx, existing, spec.name);
    const diff = domainMismatches(spec, info);
    if (diff.length)
      throw new HypervisorError("DOMAIN_CONFLICT", hostId, `domain exists with a different definition: ${diff.join("; ")}`, {
        domain: spec.name,
      });
    if (info.active) return info;
    await startDomain(ctx, existing, spec.name);
    return domainDescribe(ctx, existing, spec.name);
  }

  const xml = buildDomainXml(spec, target);
  let dom: Domain;
  try {
    dom = await ctx.hv.domainDefineXML(xml);
  } catch (e) {
    const kind = classifyLibvirtMessage(errorMessage(e));
    if (kind === "already-exists")
      throw new HypervisorError("DOMAIN_CONFLICT", hostId, `define refused: ${errorMessage(e)}`, { domain: spec.name, cause: e });
    throw wrapLibvirtError(e, hostId, "DOMAIN_CREATE_FAILED", "define failed", spec.name);
  }
  try {
    await startDomain(ctx, dom, spec.name);
  } catch (e) {
    await dom.undefine().catch(() => undefined);
    throw e instanceof HypervisorError && e.code === "DOMAIN_START_FAILED"
      ? new HypervisorError("DOMAIN_CREATE_FAILED", hostId, e.message, { domain: spec.name, cause: e.cause })
      : e;
  }
  return domainDescribe(ctx, dom, spec.name);
}

async function startDomain(ctx: DomainContext, dom: Domain, name: string): Promise<void> {
  try {
    await dom.create();
  } catch (e) {
    if (classifyLibvirtMessage(errorMessage(e)) === "already-running") return;
    throw wrapLibvirtError(e, ctx.host.id, "DOMAIN_START_FAILED", "start failed", name);
  }
}

/** Starts a defined domain (no-op if running). DOMAIN_NOT_FOUND if it does not exist. */
export async function domainStart(ctx: DomainContext, name: string): Promise<DomainInfo> {
  const dom = await domainLookup(ctx, name);
  if (!dom) throw new HypervisorError("DOMAIN_NOT_FOUND", ctx.host.id, "no such domain", { domain: name });
  await startDomain(ctx, dom, name);
  return domainDescribe(ctx, dom, name);
}

/** Hard power-off, keeping the definition (no-op if not running). DOMAIN_NOT_FOUND if missing. */
export async function domainStop(ctx: DomainContext, name: string): Promise<DomainInfo> {
  const dom = await domainLookup(ctx, name);
  if (!dom) throw new HypervisorError("DOMAIN_NOT_FOUND", ctx.host.id, "no such domain", { domain: name });
  try {
    await dom.destroy();
  } catch (e) {
    if (classifyLibvirtMessage(errorMessage(e)) !== "not-running")
      throw wrapLibvirtError(e, ctx.host.id, "LIBVIRT_ERROR", "destroy failed", name);
  }
  return domainDescribe(ctx, dom, name);
}

/** Destroy (if active) + undefine. Idempotent: a missing domain is fine. */
export async function domainDestroy(ctx: DomainContext, name: string): Promise<void> {
  const dom = await domainLookup(ctx, name);
  if (!dom) return;
  try {
    await dom.destroy();
  } catch (e) {
    const kind = classifyLibvirtMessage(errorMessage(e));
    if (kind === "not-found") return;
    if (kind !== "not-running") throw wrapLibvirtError(e, ctx.host.id, "DOMAIN_DESTROY_FAILED", "destroy failed", name);
  }
  try {
    await dom.undefine();
  } catch (e) {
    // A transient domain disappears on destroy; "not found" here means we are done.
    if (isNotFound(e)) return;
    throw wrapLibvirtError(e, ctx.host.id, "DOMAIN_DESTROY_FAILED", "undefine failed", name);
  }
}

/** One domain's info, or undefined if there is no domain with that name. */
export async function domainGet(ctx: DomainContext, name: string): Promise<DomainInfo | undefined> {
  const dom = await domainLookup(ctx, name);
  if (!dom) return undefined;
  try {
    return await domainDescribe(ctx, dom, name);
  } catch (e) {
    if (e instanceof HypervisorError && e.code === "DOMAIN_NOT_FOUND") return undefined;
    throw e;
  }
}

/** The live domain XML. DOMAIN_NOT_FOUND if missing. */
export async function domainGetXml(ctx: DomainContext, name: string): Promise<string> {
  const dom = await domainLookup(ctx, name);
  if (!dom) throw new HypervisorError("DOMAIN_NOT_FOUND", ctx.host.id, "no such domain", { domain: name });
  try {
    return await dom.getXMLDesc();
  } catch (e) {
    throw wrapLibvirtError(e, ctx.host.id, "LIBVIRT_ERROR", "getXMLDesc failed", name);
  }
}

/** All domains (active and inactive), sorted by name; domains vanishing mid-listing are skipped. */
export async function domainList(ctx: DomainContext, opts: DomainListOptions = {}): Promise<DomainInfo[]> {
  let doms: Domain[];
  try {
    doms = await ctx.hv.connectListAllDomains();
  } catch (e) {
    throw wrapLibvirtError(e, ctx.host.id, "LIBVIRT_ERROR", "connectListAllDomains failed");
  }
  const infos = await Promise.all(
    doms.map((d) =>
      domainDescribe(ctx, d).catch((e: unknown) => {
        if (e instanceof HypervisorError && e.code === "DOMAIN_NOT_FOUND") return undefined;
        throw e;
      }),
    ),
  );
  return infos
    .filter((i): i is DomainInfo => i !== undefined && (!opts.managedOnly || i.managed))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
