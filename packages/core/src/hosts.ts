import { z } from "zod";
import { hostUse, placeableCapacity, type HostUsage } from "./capacity";
import { AppError } from "./errors";

/**
 * The libvirt URIs a host may be registered with, and why any other is refused:
 * the test driver (a simulated host) and QEMU/KVM, local or remote.
 */
const URI_FORMS: { re: RegExp; what: string }[] = [
  { re: /^test:\/\/\/default$/, what: "test:///default" },
  { re: /^test:\/\/\/[^\s?#]+\.xml$/, what: "test:///<absolute path>.xml" },
  { re: /^qemu:\/\/\/(system|session)$/, what: "qemu:///system or qemu:///session" },
  {
    re: /^qemu\+(ssh|tcp|tls):\/\/([A-Za-z0-9._-]+@)?([A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\])(:\d{1,5})?\/(system|session)(\?[^\s#]*)?$/,
    what: "qemu+ssh://[user@]host[:port]/system (or qemu+tcp://, qemu+tls://)",
  },
];

export const ACCEPTED_HOST_URIS = URI_FORMS.map((f) => f.what).join(", ");

/** Why a libvirt URI cannot be registered, or null when it can. */
export function hostUriProblem(uri: string): string | null {
  if (URI_FORMS.some((f) => f.re.test(uri))) return null;
  return `${JSON.stringify(uri)} is not a libvirt URI Malleo drives; use ${ACCEPTED_HOST_URIS}`;
}

export const MAX_CPU_OVERCOMMIT = 16;
export const MAX_MEMORY_OVERCOMMIT = 4;

const ratio = (what: string, max: number) =>
  z
    .number({ error: `${what} overcommit is a number from 1 to ${max}` })
    .min(1, { error: `${what} overcommit is at least 1 (1 = no overcommit)` })
    .max(max, { error: `${what} overcommit is at most ${max}` })
    .refine((n) => Math.abs(n * 100 - Math.round(n * 100)) < 1e-6, {
      error: `${what} overcommit has at most two decimals (e.g. 1.5)`,
    });

const vmQuota = z
  .number({ error: "the VM quota is a whole number, at least 1" })
  .int({ error: "the VM quota is a whole number, at least 1" })
  .min(1, { error: "the VM quota is at least 1" })
  .max(1000, { error: "the VM quota is at most 1000" });

const hostName = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, {
    error: "a host name is 1 to 63 letters, digits, dots, dashes or underscores, starting with a letter or digit",
  });

export const hostRegisterInput = z
  .object({
    name: hostName,
    uri: z
      .string()
      .trim()
      .superRefine((uri, ctx) => {
        const problem = hostUriProblem(uri);
        if (problem) ctx.addIssue({ code: "custom", message: problem });
      }),
    vmQuota,
    cpuOvercommit: ratio("CPU", MAX_CPU_OVERCOMMIT).default(1),
    memoryOvercommit: ratio("memory", MAX_MEMORY_OVERCOMMIT).default(1),
  })
  .strict();
export type HostRegisterInput = z.infer<typeof hostRegisterInput>;

export const hostUpdateInput = z
  .object({
    id: hostName,
    vmQuota: vmQuota.optional(),
    cpuOvercommit: ratio("CPU", MAX_CPU_OVERCOMMIT).optional(),
    memoryOvercommit: ratio("memory", MAX_MEMORY_OVERCOMMIT).optional(),
  })
  .strict()
  .refine((v) => v.vmQuota !== undefined || v.cpuOvercommit !== undefined || v.memoryOvercommit !== undefined, {
    error: "change at least one of vmQuota, cpuOvercommit, memoryOvercommit",
  });
export type HostUpdateInput = z.infer<typeof hostUpdateInput>;

export const hostRemoveInput = z.object({ id: hostName }).strict();

/**
 * A host's new quota and ratios must still hold the VMs it carries. Throws an AppError naming
 * the host, the limit asked for and how much its live VMs use. A host whose capacity is not
 * known yet (0: never reached) has no CPU or memory to check.
 */
export function checkHostSettings(
  host: HostUsage,
  next: { vmQuota?: number; cpuOvercommit?: number; memoryOvercommit?: number },
): void {
  const after = { ...host, ...Object.fromEntries(Object.entries(next).filter(([, v]) => v !== undefined)) } as HostUsage;
  const used = hostUse(host.vms);
  if (after.vmQuota < used.vms) {
    throw new AppError(
      "HOST_IN_USE",
      `host ${host.id} carries ${used.vms} live VMs; its VM quota cannot go below ${used.vms} (asked ${after.vmQuota})`,
      { hostId: host.id, usedVms: used.vms, asked: after.vmQuota },
    );
  }
  const limit = placeableCapacity(after);
  if (host.cpus > 0 && limit.vcpus < used.vcpus) {
    throw new AppError(
      "HOST_IN_USE",
      `host ${host.id}'s VMs use ${used.vcpus} vCPUs; CPU overcommit ${after.cpuOvercommit ?? 1} allows only ${limit.vcpus} on its ${host.cpus} CPUs (at least ${Math.ceil((used.vcpus / host.cpus) * 100) / 100} needed)`,
      { hostId: host.id, usedCpus: used.vcpus, limitCpus: limit.vcpus },
    );
  }
  if (host.memoryMiB > 0 && limit.memoryMiB < used.memoryMiB) {
    throw new AppError(
      "HOST_IN_USE",
      `host ${host.id}'s VMs use ${used.memoryMiB} MiB; memory overcommit ${after.memoryOvercommit ?? 1} allows only ${limit.memoryMiB} MiB of its ${host.memoryMiB} MiB (at least ${Math.ceil((used.memoryMiB / host.memoryMiB) * 100) / 100} needed)`,
      { hostId: host.id, usedMemoryMiB: used.memoryMiB, limitMemoryMiB: limit.memoryMiB },
    );
  }
}

/** A host can be removed only when no live VM is on it; the refusal names them. */
export function checkHostRemovable(hostId: string, liveVms: { name: string }[]): void {
  if (liveVms.length === 0) return;
  const names = liveVms.map((v) => v.name).sort();
  const shown = names.length > 10 ? `${names.slice(0, 10).join(", ")} and ${names.length - 10} more` : names.join(", ");
  throw new AppError(
    "HOST_IN_USE",
    `host ${hostId} still carries ${names.length} live VM${names.length === 1 ? "" : "s"} (${shown}); merge or move them elsewhere first`,
    { hostId, vms: names },
  );
}

/**
 * Refuses targets on a host the worker cannot reach now: its VMs could not be created, so the
 * operation is refused at once instead of failing at Provision and rolling back. (Only at
 * acceptance: at creation time the libvirt call itself decides.)
 */
export function checkTargetHostsReachable(hosts: { id: string; status: string; statusReason: string | null }[]): void {
  for (const h of hosts) {
    if (h.status === "online") continue;
    throw new AppError(
      "HOST_UNREACHABLE",
      `host ${h.id} is ${h.status}${h.statusReason ? ` (${h.statusReason})` : ""}; no VM can be created on it until it is back — choose another target host`,
      { hostId: h.id, status: h.status },
    );
  }
}
