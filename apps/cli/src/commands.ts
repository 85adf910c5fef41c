// Pieces of the CLI's commands that do not need a server: argument checks and what is printed.
import { UPGRADE_STRATEGIES, type UpgradeStrategy } from "@malleo/core";

/** The API's transfer modes (splitInput/mergeInput in @malleo/core; the API checks them again). */
const TRANSFER_MODES = ["live", "barrier"] as const;
type TransferMode = (typeof TRANSFER_MODES)[number];

/** A mistake in how the command was typed: exit code 2 and the usage line. */
export class UsageError extends Error {}

/** `--transfer live|barrier` of split and merge; live when not given. */
export function parseTransfer(value: string | undefined): TransferMode {
  if (value === undefined) return "live";
  if ((TRANSFER_MODES as readonly string[]).includes(value)) return value as TransferMode;
  throw new UsageError(
    `--transfer is live (each actor pauses only while it moves) or barrier (all actors pause together), not ${value || '""'}`,
  );
}

/** --strategy of an upgrade: absent (the server chooses by state format), rolling or restart. */
export function parseUpgradeStrategy(value: string | undefined): UpgradeStrategy | undefined {
  if (value === undefined) return undefined;
  if ((UPGRADE_STRATEGIES as readonly string[]).includes(value)) return value as UpgradeStrategy;
  throw new UsageError(
    `--strategy is rolling (new VMs on the new version, each actor moved live) or restart (the whole application from one checkpoint), not ${value || '""'}`,
  );
}

export const READY_USAGE = "usage: malleo ready extend|abort <operation-id>";

/** `malleo ready extend|abort <operation-id>` → what to send as `operations.decideReadyTimeout`. */
export function parseReadyArgs(args: readonly string[]): { id: string; decision: "extend" | "abort" } {
  const [decision, id, ...rest] = args;
  if (decision !== "extend" && decision !== "abort") {
    throw new UsageError(decision ? `malleo ready takes extend or abort, not ${decision}\n${READY_USAGE}` : READY_USAGE);
  }
  if (!id || rest.length > 0) throw new UsageError(READY_USAGE);
  return { id, decision };
}

/** The one call it makes (the tRPC client's `operations.decideReadyTimeout`; tests pass a stand-in). */
interface DecideReadyTimeout {
  mutate(input: { id: string; decision: "extend" | "abort" }): Promise<{ id: string; decision: "extend" | "abort"; by: string }>;
}

/** Answers a timed-out ready barrier; returns the server's reply and the line printed for it. */
export async function readyCommand(
  api: { operations: { decideReadyTimeout: DecideReadyTimeout } },
  args: readonly string[],
): Promise<{ json: unknown; human: string }> {
  const input = parseReadyArgs(args);
  const r = await api.operations.decideReadyTimeout.mutate(input);
  const human =
    r.decision === "extend"
      ? `operation ${r.id}: waiting longer — the worker asks the actors that were not ready again\n  follow it: malleo watch ${r.id}`
      : `operation ${r.id}: aborted at the ready barrier — the worker rolls it back\n  follow it: malleo watch ${r.id}`;
  return { json: r, human };
}

/**
 * What `malleo watch` prints when an operation starts waiting: the reason, and for a timed-out
 * ready barrier the commands that answer it. Null when it is not waiting.
 */
export function waitingLine(op: { id: string; status: string; waitingReason: string | null }): string | null {
  if (!op.waitingReason || !["running", "cleanup_pending"].includes(op.status)) return null;
  const onBarrier = op.status === "running" && op.waitingReason.startsWith("ready");
  return `  waiting: ${op.waitingReason}${onBarrier ? `\n  answer it: malleo ready extend ${op.id}  |  malleo ready abort ${op.id}` : ""}`;
}

export const DEPLOY_USAGE =
  "usage: malleo deploy <kind> --id <application-id> --vms HOST:VCPUS:MEMORY_MIB[,…] [--config '<json>'] [--version V]";

/**
 * `malleo deploy pagerank --id ranks --vms pm-1:2:2048,pm-2:2:2048 --config '{"nodes":1000}'` →
 * the input of `applications.deploy`. A partial `--config` is laid over the kind's default
 * configuration (from `applications.kinds`); the server checks the result with the application's schema.
 */
export function parseDeployArgs(
  args: readonly string[],
  opts: { id?: string; vms?: string; config?: string; version?: string },
  defaultConfig: unknown,
): {
  applicationId: string;
  kind: string;
  version?: string;
  config: unknown;
  vms: { hostId: string; vcpus: number; memoryMiB: number }[];
} {
  const [kind, ...rest] = args;
  if (!kind || rest.length > 0 || !opts.id || !opts.vms) throw new UsageError(DEPLOY_USAGE);
  const vms = opts.vms.split(",").map((spec) => {
    const [hostId, vcpus, memory, ...extra] = spec.split(":");
    if (!hostId || !vcpus || !memory || extra.length > 0 || !/^\d+$/.test(vcpus) || !/^\d+$/.test(memory))
      throw new UsageError(`--vms takes HOST:VCPUS:MEMORY_MIB per VM (e.g. pm-1:2:2048), not ${spec || '""'}\n${DEPLOY_USAGE}`);
    return { hostId, vcpus: Number(vcpus), memoryMiB: Number(memory) };
  });
  let overrides: unknown = {};
  if (opts.config !== undefined) {
    try {
      overrides = JSON.parse(opts.config);
    } catch (e) {
      throw new UsageError(`--config is not JSON: ${(e as Error).message}`);
    }
    if (typeof overrides !== "object" || overrides === null || Array.isArray(overrides))
      throw new UsageError("--config is a JSON object of configuration fields");
  }
  const base = typeof defaultConfig === "object" && defaultConfig !== null ? defaultConfig : {};
  return {
    applicationId: opts.id,
    kind,
    ...(opts.version ? { version: opts.version } : {}),
    config: { ...base, ...(overrides as object) },
    vms,
  };
}

export const RECOVERY_USAGE =
  "usage: malleo checkpoints <app> | malleo restore <app> <checkpoint-sequence> | malleo auto-recovery <app> on|off";

/** `malleo restore <app> <sequence>` → the input of `applications.restore`. */
export function parseRestoreArgs(args: readonly string[]): { applicationId: string; sequence: number } {
  const [applicationId, seq, ...rest] = args;
  if (!applicationId || !seq || rest.length > 0) throw new UsageError(RECOVERY_USAGE);
  const sequence = Number(seq.replace(/^#/, ""));
  if (!Number.isInteger(sequence) || sequence < 1)
    throw new UsageError(
      `the checkpoint is its sequence number (1, 2, …; \`malleo checkpoints ${applicationId}\` lists them), not ${seq}`,
    );
  return { applicationId, sequence };
}

/** `malleo auto-recovery <app> on|off` → the input of `applications.setAutoRecovery`. */
export function parseAutoRecoveryArgs(args: readonly string[]): { applicationId: string; enabled: boolean } {
  const [applicationId, value, ...rest] = args;
  if (!applicationId || rest.length > 0 || (value !== "on" && value !== "off")) throw new UsageError(RECOVERY_USAGE);
  return { applicationId, enabled: value === "on" };
}

export const HOSTS_TEST_USAGE = "usage: malleo hosts test <libvirt-uri>";

/** What `hosts.test` answers (packages/api host-probe.ts). */
type HostTestAnswer =
  | { ok: true; cpus: number; memoryMiB: number; model?: string; hostname?: string; elapsedMs: number }
  | { ok: false; kind: string; reason: string; detail?: string };

/**
 * `malleo hosts test <uri>`: a worker tries the URI (nothing is registered). Exit code 0 when it
 * connected, 1 when it could not (the reason and libvirt's words are printed); a URI the rules
 * refuse comes back as the server's refusal.
 */
export async function hostTestCommand(
  api: { hosts: { test: { mutate(input: { uri: string }): Promise<HostTestAnswer> } } },
  args: readonly string[],
): Promise<{ json: unknown; human: string; exitCode: 0 | 1 }> {
  const [uri, ...rest] = args;
  if (!uri || rest.length > 0) throw new UsageError(HOSTS_TEST_USAGE);
  const r = await api.hosts.test.mutate({ uri });
  if (r.ok) {
    const on = r.hostname ? ` to ${r.hostname}` : "";
    const model = r.model ? ` (${r.model})` : "";
    return {
      json: r,
      human: `connected${on}: ${r.cpus} CPUs, ${r.memoryMiB} MiB${model}, answered in ${r.elapsedMs} ms\n  register it: the Admin page, or hosts.register`,
      exitCode: 0,
    };
  }
  return {
    json: r,
    human: `cannot connect to ${uri}: ${r.reason} (${r.kind})${r.detail ? `\n  libvirt: ${r.detail}` : ""}`,
    exitCode: 1,
  };
}
