import { hostReasonForViewers } from "@malleo/core";
import {
  hostCapacitySet,
  hostList,
  hostStatusSet,
  reconcileFindingsReplace,
  vmListLive,
  vmListLost,
  type Db,
  type ReconcileFindingInput,
} from "@malleo/db";
import { isHypervisorError, type DomainInfo, type HostConnection } from "@malleo/hypervisor";
import type { Logger } from "./log";
import { Periodic } from "./periodic";
import type { VmManager } from "./vm-manager";

export interface LiveVmView {
  id: string;
  name: string;
  hostId: string;
  applicationId: string;
  vcpus: number;
  memoryMiB: number;
  state: string;
  lockedBy: string | null;
}

/** What the UI shows as a host's accelerator. */
function acceleratorLabel(conn: HostConnection): string {
  if (conn.kind === "test") return "simulated (libvirt test driver)";
  const virt = conn.guestConfig?.virtType;
  return virt === "kvm" ? "kvm" : virt === "qemu" ? "qemu (software emulation)" : "unknown";
}

/** Domains Malleo creates for itself (accelerator probe, benchmark) that are no VM. */
const INTERNAL_DOMAIN = /^malleo-(kvm-probe|bench)-/;

/**
 * Compares one host's Malleo domains with the VMs Postgres places there. Pure.
 * - orphan: a Malleo domain with no live VM row (on this host) — reported, never deleted;
 * - missing: a running VM row with no domain, or with a domain that is not running;
 * - lost: a VM whose theater stopped answering (recovery.ts), until it is recovered.
 * VMs an operation holds (locked) are mid-change and not judged (except lost ones).
 */
export function diffHost(hostId: string, domains: Pick<DomainInfo, "name" | "active" | "metadata">[], vms: LiveVmView[]) {
  const findings: ReconcileFindingInput[] = [];
  const here = vms.filter((v) => v.hostId === hostId);
  const byName = new Map(domains.map((d) => [d.name, d]));
  const known = new Set(here.map((v) => v.name));
  const locked = new Set(vms.filter((v) => v.lockedBy !== null).map((v) => v.id));
  for (const d of domains) {
    if (known.has(d.name) || INTERNAL_DOMAIN.test(d.name)) continue;
    const vmId = d.metadata.vmId ?? null;
    if (vmId && locked.has(vmId)) continue;
    const elsewhere = vmId ? vms.find((v) => v.id === vmId) : undefined;
    findings.push({
      kind: "orphan",
      domainName: d.name,
      vmId,
      detail: elsewhere
        ? `domain ${d.name} on ${hostId} belongs to VM ${elsewhere.name}, which Postgres places on ${elsewhere.hostId}`
        : `domain ${d.name} on ${hostId} (${d.active ? "running" : "shut off"}) has no live VM in Postgres`,
    });
  }
  for (const v of here) {
    if (v.state === "lost") {
      findings.push({
        kind: "lost",
        domainName: v.name,
        vmId: v.id,
        detail: `VM ${v.name}'s theater stopped answering; its actors are gone until the application is restored`,
      });
      continue;
    }
    if (v.lockedBy !== null || v.state !== "running") continue;
    const d = byName.get(v.name);
    if (d?.active) continue;
    findings.push({
      kind: "missing",
      domainName: v.name,
      vmId: v.id,
      detail: d
        ? `VM ${v.name} is running in Postgres but its domain on ${hostId} is shut off`
        : `VM ${v.name} has no domain on ${hostId}`,
    });
  }
  return findings;
}

/**
 * Reconciliation and host health, on start and then periodically: reconnects hosts that are
 * not connected, marks each host online or unreachable (with the reason; an unreachable host's
 * VMs are unknown, not deleted), rebuilds the domains of simulated hosts (the test driver keeps
 * no state across connections) and records orphans and missing VMs for the UI.
 */
export class Reconciler {
  private readonly loop: Periodic;

  constructor(
    private readonly db: Db,
    private readonly vms: VmManager,
    private readonly opts: {
      intervalMs: number;
      log: Logger;
      /** A running VM, held by no operation, whose theater is not registered: reported to recovery. */
      theaterMissing?: { has(vmId: string): boolean; report(vmId: string): void };
    },
  ) {
    this.loop = new Periodic(() => this.runOnce(), { intervalMs: opts.intervalMs, log: opts.log, failure: "reconcile failed" });
  }

  async runOnce(): Promise<Map<string, ReconcileFindingInput[]>> {
    const result = new Map<string, ReconcileFindingInput[]>();
    await this.vms.connectHosts();
    // Lost VMs are known (their domains are no orphans) and reported.
    const live: LiveVmView[] = [...(await vmListLive(this.db)), ...(await vmListLost(this.db))];
    const watch = this.opts.theaterMissing;
    if (watch)
      for (const v of live)
        if (v.state === "running" && v.lockedBy === null && !watch.has(v.id)) {
          this.opts.log({ event: "reconcile: running VM without a theater", vmId: v.id, vm: v.name });
          watch.report(v.id);
        }
    for (const host of await hostList(this.db)) {
      const conn = this.vms.connections().get(host.id);
      if (!conn) {
        if (this.vms.uriRefusal(host.id) === host.uri) continue; // marked with the rule's own message
        const reason = this.vms.reconnectState(host.id)?.error ?? `cannot open the libvirt connection to ${host.uri}`;
        await this.markUnreachable(host.id, host.status, reason);
        continue;
      }
      let domains: DomainInfo[];
      try {
        domains = await conn.domainList({ managedOnly: true });
        if (conn.kind === "test") {
          // A reopened test-driver connection starts empty: recreate its running VMs.
          const names = new Set(domains.map((d) => d.name));
          const lost = live.filter((v) => v.hostId === host.id && v.state === "running" && !v.lockedBy && !names.has(v.name));
          for (const v of lost)
            await this.vms.provisionVm({
              id: v.id,
              name: v.name,
              hostId: v.hostId,
              applicationId: v.applicationId,
              vcpus: v.vcpus,
              memoryMiB: v.memoryMiB,
            });
          if (lost.length) domains = await conn.domainList({ managedOnly: true });
        }
      } catch (e) {
        if (isHypervisorError(e) && (e.code === "HOST_UNREACHABLE" || e.code === "HOST_CLOSED")) {
          await this.vms.dropHost(host.id);
          await this.markUnreachable(host.id, host.status, e.message);
          continue;
        }
        throw e;
      }
      if (host.status !== "online") this.opts.log({ event: "host reachable again", hostId: host.id });
      await hostStatusSet(this.db, host.id, { online: true, accelerator: acceleratorLabel(conn) });
      if (host.cpus === 0 || host.memoryMiB === 0) {
        // A host registered by URI only (MALLEO_HOSTS): its capacity is what libvirt reports.
        const capacity = await conn.capacity();
        await hostCapacitySet(this.db, host.id, capacity);
        this.opts.log({ event: "host capacity read", hostId: host.id, cpus: capacity.cpus, memoryMiB: capacity.memoryMiB });
      }
      const findings = diffHost(host.id, domains, live);
      await reconcileFindingsReplace(this.db, host.id, findings);
      for (const f of findings)
        this.opts.log({ event: `reconcile ${f.kind}`, hostId: host.id, domain: f.domainName, detail: f.detail });
      result.set(host.id, findings);
    }
    return result;
  }

  private async markUnreachable(hostId: string, previous: string, reason: string): Promise<void> {
    if (previous !== "unreachable") this.opts.log({ event: "host unreachable", hostId, reason });
    // Viewers see a generic reason; libvirt's text (which may quote a file it read) is logged.
    await hostStatusSet(this.db, hostId, { online: false, reason: hostReasonForViewers(reason) });
  }

  start(): void {
    this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }
}
