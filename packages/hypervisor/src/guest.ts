/**
 * Real guests on qemu hosts: the kernel command line that tells a guest who it is, its
 * address on the project's bridge, and the accelerator probe (KVM only when a test boot
 * under KVM really reaches the guest's /init; QEMU software emulation otherwise).
 */
import { existsSync, readFileSync, rmSync } from "node:fs";
import { randomUUID } from "node:crypto";
import type { HostConnection } from "./connection";
import type { QemuGuestConfig } from "./types";

/** What a guest's /init reads from the kernel command line (see scripts/guest/init.sh). */
export interface GuestIdentity {
  vmId: string;
  /** Per-VM secret the theater presents to the Mediator. */
  secret: string;
  /** host:port of the Mediator, reachable from the bridge. */
  mediator: string;
  /** The guest's address with prefix, e.g. "10.77.0.10/24". */
  ipCidr: string;
}

const TOKEN_RE = /^[^\s"'\\]+$/;

/** Kernel arguments for one guest. Throws on values that would break the command line. */
export function guestKernelArgs(g: GuestIdentity): string {
  for (const [k, v] of Object.entries(g))
    if (!TOKEN_RE.test(v)) throw new Error(`guest ${k} ${JSON.stringify(v)} cannot go on a kernel command line`);
  return `malleo.ip=${g.ipCidr} malleo.vm=${g.vmId} malleo.secret=${g.secret} malleo.mediator=${g.mediator}`;
}

/** Base command line of every guest: serial console, ramfs root for small guests, quiet boot. */
export const GUEST_BASE_CMDLINE = "console=ttyS0 rootfstype=ramfs quiet loglevel=3 panic=-1";

/** A stable locally administered MAC address derived from the VM id. */
export function guestMacAddress(vmId: string): string {
  let h = 2166136261;
  for (const c of vmId) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0;
  const b = [(h >>> 16) & 0xff, (h >>> 8) & 0xff, h & 0xff];
  return ["52", "54", "00", ...b.map((x) => x.toString(16).padStart(2, "0"))].join(":");
}

/** The guest address pool of a bridge network: gateway .1, guests .10 … .250 of a /24. */
export interface GuestNetwork {
  bridge: string;
  /** The host's address on the bridge, e.g. "10.77.0.1". */
  gateway: string;
  prefix: number;
}

export function parseBridgeCidr(bridge: string, cidr: string): GuestNetwork {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(cidr);
  if (!m || Number(m[5]) !== 24) throw new Error(`bridge address ${JSON.stringify(cidr)} must be an IPv4 /24, e.g. 10.77.0.1/24`);
  return { bridge, gateway: cidr.split("/")[0]!, prefix: 24 };
}

/** The lowest free guest address of the network, or undefined when the pool is exhausted. */
export function allocateGuestAddress(net: GuestNetwork, used: Iterable<string>): string | undefined {
  const taken = new Set(used);
  const base = net.gateway.split(".").slice(0, 3).join(".");
  for (let i = 10; i <= 250; i++) {
    const ip = `${base}.${i}`;
    if (ip !== net.gateway && !taken.has(ip)) return ip;
  }
  return undefined;
}

export interface AcceleratorChoice {
  virtType: "kvm" | "qemu";
  /** Why: shown in the UI and the logs. */
  reason: string;
}

/**
 * Decides between KVM and software emulation. /dev/kvm existing is not enough (a nested
 * paravirtual KVM can stall Linux guests), so a probe guest boots under KVM and must print
 * its /init banner on the serial console within `timeoutMs`.
 */
export async function probeAccelerator(
  host: HostConnection,
  guest: Omit<QemuGuestConfig, "virtType">,
  opts: { consoleLog: string; timeoutMs?: number; kvmDevice?: string },
): Promise<AcceleratorChoice> {
  const dev = opts.kvmDevice ?? "/dev/kvm";
  if (!existsSync(dev)) return { virtType: "qemu", reason: `${dev} does not exist: QEMU software emulation` };
  const timeoutMs = opts.timeoutMs ?? 8000;
  const name = `malleo-kvm-probe-${process.pid}`;
  rmSync(opts.consoleLog, { force: true });
  try {
    await host.domainCreate(
      {
        name,
        uuid: randomUUID(),
        vcpus: 1,
        memoryMiB: 256,
        metadata: { probe: "kvm" },
        guest: { consoleLog: opts.consoleLog },
      },
      { ...guest, virtType: "kvm", bridge: undefined, cmdline: GUEST_BASE_CMDLINE },
    );
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (existsSync(opts.consoleLog) && readFileSync(opts.consoleLog, "utf8").includes("malleo-init: start"))
        return { virtType: "kvm", reason: `a probe guest reached /init under KVM (${dev})` };
      await new Promise((r) => setTimeout(r, 100));
    }
    return {
      virtType: "qemu",
      reason: `a probe guest did not reach /init under KVM within ${timeoutMs} ms: QEMU software emulation`,
    };
  } catch (e) {
    return { virtType: "qemu", reason: `KVM probe failed (${(e as Error).message}): QEMU software emulation` };
  } finally {
    await host.domainDestroy(name).catch(() => undefined);
  }
}
