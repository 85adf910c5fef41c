import { z } from "zod";
import { hostUse, placeableCapacity, type HostUsage } from "./capacity";
import { hostUnreachable } from "./placement/problems";
import { AppError } from "./errors";

/**
 * The libvirt URIs a host may be registered with. A host URI is code: libvirt acts on its query
 * string (`command=` runs that binary for the ssh transport, `no_verify=1` turns certificate
 * checks off, `netcat=`/`proxy=` change what runs on the remote side), and a test-driver path is
 * a file the worker reads. So only these forms are accepted:
 *
 * - `test:///default`, `test:///<absolute path>.xml` — simulated hosts; the path must lie in
 *   the worker's data directory, and neither is accepted in a deployment unless simulated hosts
 *   are enabled (`hostUriPolicyProblem`);
 * - `qemu:///system`, `qemu:///session` — libvirtd on the worker's machine; no parameters;
 * - `qemu+ssh://[user@]host[:port]/system` with at most `keyfile=`, `known_hosts=` (absolute
 *   paths) and `no_tty=1`;
 * - `qemu+tls://host[:port]/system` with at most `pkipath=` (an absolute path).
 *
 * `qemu+tcp` is refused: it carries libvirt's control protocol (and whatever SASL offers) in
 * clear; use qemu+tls or qemu+ssh.
 */
const HOST = String.raw`([A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:]{2,39}\])`;
const REMOTE_RE = new RegExp(
  String.raw`^qemu\+(ssh|tls|tcp)://([A-Za-z0-9._-]{1,64}@)?${HOST}(:\d{1,5})?/(system|session)(\?[^\s#]*)?$`,
);
const ABSOLUTE_PATH_RE = /^\/(?!.*(^|\/)\.\.?(\/|$))[A-Za-z0-9._/-]{1,1000}$/;
const PARAMETERS: Record<string, Record<string, (value: string) => boolean>> = {
  ssh: {
    keyfile: (v) => ABSOLUTE_PATH_RE.test(v),
    known_hosts: (v) => ABSOLUTE_PATH_RE.test(v),
    no_tty: (v) => v === "1",
  },
  tls: { pkipath: (v) => ABSOLUTE_PATH_RE.test(v) },
};

export const ACCEPTED_HOST_URIS =
  "test:///default, test:///<absolute path>.xml (in the data directory), qemu:///system or qemu:///session, " +
  "qemu+ssh://[user@]host[:port]/system (parameters: keyfile, known_hosts, no_tty), " +
  "qemu+tls://host[:port]/system (parameter: pkipath)";

/** Why a libvirt URI cannot be registered (its form), or null when it can. */
export function hostUriProblem(uri: string): string | null {
  const refuse = (why: string) => `${JSON.stringify(uri.slice(0, 300))} ${why}; use ${ACCEPTED_HOST_URIS}`;
  if (uri === "test:///default" || /^qemu:\/\/\/(system|session)$/.test(uri)) return null;
  if (uri.startsWith("test:")) {
    const file = testUriPath(uri);
    return file === null ? refuse("is not a libvirt URI Malleo drives") : null;
  }
  const remote = REMOTE_RE.exec(uri);
  if (!remote) return refuse("is not a libvirt URI Malleo drives");
  const transport = remote[1]!;
  if (transport === "tcp")
    return refuse("is refused: qemu+tcp carries libvirt's control connection unencrypted (use qemu+tls or qemu+ssh)");
  const allowed = PARAMETERS[transport]!;
  const query = remote[6]?.slice(1) ?? "";
  const seen = new Set<string>();
  for (const pair of query === "" ? [] : query.split("&")) {
    const eq = pair.indexOf("=");
    const name = eq < 0 ? pair : pair.slice(0, eq);
    const value = eq < 0 ? "" : pair.slice(eq + 1);
    const check = Object.hasOwn(allowed, name) ? allowed[name] : undefined;
    if (!check)
      return refuse(
        `is refused: the parameter ${JSON.stringify(name.slice(0, 40))} is not allowed for qemu+${transport} (allowed: ${Object.keys(allowed).join(", ")})`,
      );
    if (seen.has(name)) return refuse(`is refused: the parameter ${name} is given twice`);
    seen.add(name);
    if (!check(value))
      return refuse(
        `is refused: ${name}=${JSON.stringify(value.slice(0, 100))} is not ${name === "no_tty" ? "1" : "an absolute path of letters, digits, . _ - /"}`,
      );
  }
  return null;
}

/** The absolute file path of a `test:///<path>.xml` URI, or null when it is not one (or climbs with `..`). */
export function testUriPath(uri: string): string | null {
  const m = /^test:\/\/(\/[^?#\s]+\.xml)$/.exec(uri);
  if (!m) return null;
  let file: string;
  try {
    file = decodeURIComponent(m[1]!);
  } catch {
    return null;
  }
  if ([...file].some((c) => c.charCodeAt(0) < 0x20) || file.split("/").some((segment) => segment === ".." || segment === "."))
    return null;
  return file.replace(/\/+/g, "/");
}

/** Where simulated hosts are allowed: from the worker's and web's environment. */
export interface HostUriPolicy {
  /** test:// URIs are accepted at all (not in a deployment, unless MALLEO_SIMULATED_HOSTS=1). */
  simulatedHosts: boolean;
  /** Absolute data directory; a test:///<path>.xml must lie inside it. */
  dataDir: string;
}

/** The policy of this process: MALLEO_MODE=deployment refuses simulated hosts unless MALLEO_SIMULATED_HOSTS=1. */
export function hostUriPolicyFromEnv(env: Record<string, string | undefined>, resolve: (p: string) => string): HostUriPolicy {
  return {
    simulatedHosts: env.MALLEO_MODE !== "deployment" || env.MALLEO_SIMULATED_HOSTS === "1",
    dataDir: resolve(env.MALLEO_DATA_DIR ?? ".data/dev"),
  };
}

/** Why this process refuses a URI of an accepted form (simulated hosts off, a file outside the data directory), or null. */
export function hostUriPolicyProblem(uri: string, policy: HostUriPolicy): string | null {
  if (!uri.startsWith("test:")) return null;
  if (!policy.simulatedHosts)
    return `${JSON.stringify(uri.slice(0, 300))} is a simulated host, refused in a deployment; set MALLEO_SIMULATED_HOSTS=1 to allow them, or use a qemu URI`;
  if (uri === "test:///default") return null;
  const file = testUriPath(uri);
  const dir = policy.dataDir.replace(/\/+$/, "");
  if (file === null || !file.startsWith(`${dir}/`))
    return `${JSON.stringify(uri.slice(0, 300))} names a file outside the data directory; a simulated host's file must be under ${dir}/`;
  return null;
}

// Malleo's own message for a missing simulated host file names only the file of the URI.
const MISSING_FILE_RE = /\b(HOST_UNREACHABLE: )?simulated host file (\S+) does not exist\b/;

/** Why a libvirt connection could not be made, in kinds an operator acts on differently. */
export type HostFailureKind =
  "missing-file" | "identity" | "auth" | "unknown-host" | "refused" | "timeout" | "unreachable" | "failed";

/**
 * A libvirt connection failure as a kind and one plain sentence (no libvirt text in it: that
 * can quote the files it read or the network's details).
 */
export function hostFailure(error: string): { kind: HostFailureKind; reason: string } {
  const missing = MISSING_FILE_RE.exec(error);
  if (missing) return { kind: "missing-file", reason: `simulated host file ${missing[2]} does not exist` };
  if (/host key|known_hosts|certificate|verif/i.test(error))
    return { kind: "identity", reason: "the host's identity could not be verified" };
  if (/permission denied|authenticat|auth failed/i.test(error))
    return { kind: "auth", reason: "authentication to the host failed" };
  if (/connection refused/i.test(error)) return { kind: "refused", reason: "the host refused the connection" };
  if (/timed out|timeout/i.test(error)) return { kind: "timeout", reason: "the host did not answer in time" };
  if (/not known|could not resolve|name resolution|no address associated/i.test(error))
    return { kind: "unknown-host", reason: "the host name could not be resolved" };
  if (/no route|unreachable|resolve|network/i.test(error)) return { kind: "unreachable", reason: "the host cannot be reached" };
  return { kind: "failed", reason: "the connection to the host's libvirt failed" };
}

/** How long a worker tries a URI for "test connection" (open and read the node), and how long the API waits for it. */
export const HOST_PROBE_TIMEOUT_MS = 8_000;
export const HOST_PROBE_WAIT_MS = HOST_PROBE_TIMEOUT_MS + 4_000;

/** What "test connection" answers: what libvirt reported, or why no connection could be made. */
export type HostProbeAnswer =
  | { ok: true; cpus: number; memoryMiB: number; model?: string; hostname?: string; elapsedMs: number }
  | {
      ok: false;
      /** `uri-refused`: the URI rules refused it and nothing was contacted; `no-worker`: no worker answered. */
      kind: HostFailureKind | "uri-refused" | "no-worker";
      reason: string;
      /** libvirt's own words (admins only; they may quote files or the network's details). */
      detail?: string;
    };

/** A failed probe's answer from the error it met: kind, plain reason, libvirt's text (without our prefix) as the detail. */
export function hostProbeFailed(error: string): HostProbeAnswer {
  const { kind, reason } = hostFailure(error);
  return { ok: false, kind, reason, detail: error.replace(/^\[[^\]]*\] [A-Z_]+: /, "").slice(0, 500) };
}

/**
 * What viewers may read of a host's connection failure: a generic reason. libvirt's own text
 * goes to the worker's log instead.
 */
export function hostReasonForViewers(error: string): string {
  const { kind, reason } = hostFailure(error);
  if (kind === "missing-file") return `${MISSING_FILE_RE.exec(error)?.[1] ?? ""}${reason}`;
  // Viewers have always been told "cannot be reached" for a name that does not resolve.
  return `${kind === "unknown-host" ? "the host cannot be reached" : reason} (see the worker log)`;
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

/** A URI to try before registering it ("test connection"): the same form rules as registration. */
export const hostTestInput = hostRegisterInput.pick({ uri: true }).strict();

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
  const down = hosts.find((h) => h.status !== "online");
  if (down) throw hostUnreachable(down);
}
