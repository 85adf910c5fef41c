import os from "node:os";
import path from "node:path";
import { systemDatabaseUrlFor } from "@malleo/workflows";
import { z } from "zod";

// Configuration is validated once, here; nothing else in the worker reads process.env.
const schema = z.object({
  DATABASE_URL: z.url({ error: "DATABASE_URL must be a postgres:// URL" }),
  MALLEO_SYSTEM_DATABASE_URL: z.url().optional(),
  MALLEO_DATA_DIR: z.string().default(".data/dev"),
  // Where the Mediator listens. Unset: loopback, or the guests' bridge address (the gateway of
  // MALLEO_BRIDGE_CIDR) when MALLEO_HOSTS configures a qemu host. A wildcard (0.0.0.0, ::) is
  // refused unless MALLEO_MEDIATOR_ALLOW_WILDCARD=1 (inside a container, where the published
  // port decides who can reach it).
  MALLEO_MEDIATOR_HOST: z.string().min(1).optional(),
  MALLEO_MEDIATOR_ALLOW_WILDCARD: z.enum(["0", "1"]).default("0"),
  MALLEO_MEDIATOR_PORT: z.coerce.number().int().min(0).max(65535).default(0),
  MALLEO_EXECUTOR_ID: z.string().min(1).default(`worker-${os.hostname()}`),
  // Several workers on one Postgres (docs/operations.md): one leads, the others stand by.
  MALLEO_HEARTBEAT_MS: z.coerce.number().int().positive().default(2_000),
  MALLEO_LEASE_POLL_MS: z.coerce.number().int().positive().default(500),
  // Every worker's Mediator address (host:port,…): theaters try them in turn when theirs goes away.
  MALLEO_CLUSTER_MEDIATORS: z
    .string()
    .regex(/^\s*$|^[^,:\s]+:\d{1,5}(,[^,:\s]+:\d{1,5})*$/, {
      error: "MALLEO_CLUSTER_MEDIATORS is a comma-separated list of host:port, e.g. 10.0.0.1:7000,10.0.0.2:7000",
    })
    .optional(),
  MALLEO_READY_TIMEOUT_MS: z.coerce.number().int().positive().default(30_000),
  MALLEO_THEATER_TIMEOUT_MS: z.coerce.number().int().positive().default(30_000),
  // Loopback-only admin endpoint (health, inventory, application digest); off when unset.
  MALLEO_WORKER_ADMIN_PORT: z.coerce.number().int().min(1).max(65535).optional(),
  MALLEO_APP_VERSION: z.string().min(1).default("malleo-1"),
  MALLEO_POLL_MS: z.coerce.number().int().positive().default(250),
  // Real guests on qemu hosts (docs/operations.md): the image, the bridge and the accelerator.
  MALLEO_GUEST_DIR: z.string().default(".data/guest"),
  MALLEO_BRIDGE: z.string().default("malleo0"),
  MALLEO_BRIDGE_CIDR: z.string().default("10.77.0.1/24"),
  MALLEO_GUEST_ACCELERATOR: z.enum(["auto", "kvm", "qemu"]).default("auto"),
  // VM Manager loops: CPU sampling (vm_cpu_samples) and reconciliation/host health.
  MALLEO_CPU_SAMPLE_MS: z.coerce.number().int().positive().default(5_000),
  // Actor communication sampling (application_communication, the application page's heatmap).
  MALLEO_COMM_SAMPLE_MS: z.coerce.number().int().positive().default(5_000),
  MALLEO_RECONCILE_MS: z.coerce.number().int().positive().default(15_000),
  // Durable applications (docs/operations.md, "Checkpoints and recovery").
  // Checkpoint interval of applications without their own (applications.checkpoint_interval_ms); 0: none.
  MALLEO_CHECKPOINT_MS: z.coerce.number().int().min(0).default(30_000),
  // A theater that drops its connection has this long to come back before its VM is lost.
  MALLEO_THEATER_LOST_GRACE_MS: z.coerce.number().int().min(0).default(3_000),
  // Heartbeat of every theater (a hung guest or lost host never closes its connection).
  MALLEO_THEATER_HEARTBEAT_MS: z.coerce.number().int().min(0).default(1_000),
  MALLEO_THEATER_HEARTBEAT_TIMEOUT_MS: z.coerce.number().int().positive().default(5_000),
  // Missed heartbeats forgiven this long after a theater was sent a bundle (it is importing it).
  MALLEO_BUNDLE_LOAD_GRACE_MS: z.coerce.number().int().min(0).default(60_000),
  // How long the Mediator waits for a theater's answer (a spawn includes importing a bundle).
  MALLEO_MEDIATOR_REQUEST_TIMEOUT_MS: z.coerce.number().int().positive().default(30_000),
  // "restore" (default): a lost VM's theater is restarted and its application restored from the
  // last checkpoint; "off": the VM stays lost and the application degraded until an operator acts.
  MALLEO_RECOVERY: z.enum(["restore", "off"]).default("restore"),
  // Hosts registered from configuration: JSON [{"id","uri","vmQuota"}] (docs/operations.md).
  MALLEO_HOSTS: z.string().optional(),
  // "deployment" refuses simulated (test://) hosts unless MALLEO_SIMULATED_HOSTS=1.
  MALLEO_MODE: z.string().optional(),
  MALLEO_SIMULATED_HOSTS: z.enum(["0", "1"]).optional(),
  MALLEO_READY_DECISION_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .positive()
    .default(15 * 60_000),
  MALLEO_READY_RECHECK_MS: z.coerce.number().int().positive().default(30_000),
  MALLEO_CLEANUP_RETRY_MS: z.coerce.number().int().positive().default(1_000),
  MALLEO_CLEANUP_RETRY_MAX_MS: z.coerce.number().int().positive().default(30_000),
  /** Live transfer: actors per move, and moves in flight at once. */
  MALLEO_LIVE_CHUNK_ACTORS: z.coerce.number().int().min(1).max(1000).default(8),
  MALLEO_LIVE_MOVES_IN_FLIGHT: z.coerce.number().int().min(1).max(64).default(8),
  // Fault injection for the chaos suite only: SIGKILL the worker at `<step>:<before|after>`, inside
  // a Transfer after its N-th move, or inside an upgrade's restart once its N-th VM rebooted.
  MALLEO_CHAOS_CRASH_AT: z
    .string()
    .regex(
      /^((validate|ready|provision|checkpoint|transfer|resume|cleanup|restart|rollback):(before|after)|transfer:move\d+:(unrecorded|recorded)|restart:vm\d+:rebooted)$/,
      {
        error:
          "MALLEO_CHAOS_CRASH_AT is <step>:<before|after>, transfer:move<N>:<unrecorded|recorded> or restart:vm<N>:rebooted, e.g. transfer:before",
      },
    )
    .optional(),
  // Fault injection for the chaos suite only: SIGKILL a theater (once) while a checkpoint holds
  // the application's actors (`checkpoint:held:<n>`) or writes its cut (`checkpoint:write:<n>`),
  // at its second cut, the n-th of its VMs; inside a Transfer, after the N-th move, at its source or
  // target; or inside an upgrade's restart, the N-th VM's new theater once it rebooted.
  MALLEO_CHAOS_KILL_THEATER_AT: z
    .string()
    .regex(/^(checkpoint:(held|write):\d+|transfer:move\d+:(unrecorded|recorded):(source|target)|restart:vm\d+:rebooted)$/, {
      error:
        "MALLEO_CHAOS_KILL_THEATER_AT is checkpoint:<held|write>:<n>, transfer:move<N>:<unrecorded|recorded>:<source|target> or restart:vm<N>:rebooted",
    })
    .optional(),
  // Chaos suite only ("1"): the admin endpoint may cut a simulated host off (POST /chaos/hosts/<id>/lose).
  MALLEO_CHAOS_FAULTS: z.enum(["0", "1"]).default("0"),
  // Tests only (the e2e suite): while this file exists, no actor reaches its ready barrier's safe point.
  MALLEO_TEST_HOLD_READY_FILE: z.string().min(1).optional(),
});

export type WorkerEnv = Omit<z.infer<typeof schema>, "MALLEO_MEDIATOR_HOST"> & {
  /** Resolved: see `mediatorListenHost`. */
  MALLEO_MEDIATOR_HOST: string;
  dataDir: string;
  systemDatabaseUrl: string;
  clusterMediators: string[];
};

const WILDCARDS = new Set(["0.0.0.0", "::", "[::]", "*"]);

/** The Mediator's listen address: explicit, else loopback or, with real guests configured, the bridge's. */
export function mediatorListenHost(env: {
  MALLEO_MEDIATOR_HOST?: string;
  MALLEO_MEDIATOR_ALLOW_WILDCARD: "0" | "1";
  MALLEO_HOSTS?: string;
  MALLEO_BRIDGE_CIDR: string;
}): string {
  const explicit = env.MALLEO_MEDIATOR_HOST?.trim();
  if (explicit) {
    if (WILDCARDS.has(explicit) && env.MALLEO_MEDIATOR_ALLOW_WILDCARD !== "1")
      throw new Error(
        `invalid worker configuration:\n  MALLEO_MEDIATOR_HOST: ${explicit} would expose the Mediator on every interface; give the guests' bridge address (e.g. 10.77.0.1) or 127.0.0.1, or set MALLEO_MEDIATOR_ALLOW_WILDCARD=1 inside a container whose published port is bound to one address`,
      );
    return explicit;
  }
  const realGuests = /"uri"\s*:\s*"qemu/.test(env.MALLEO_HOSTS ?? "");
  return realGuests ? (env.MALLEO_BRIDGE_CIDR.split("/")[0] ?? "127.0.0.1") : "127.0.0.1";
}

export function loadWorkerEnv(source: Record<string, string | undefined> = process.env): WorkerEnv {
  const parsed = schema.safeParse(source);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`).join("\n");
    throw new Error(`invalid worker configuration:\n${lines}`);
  }
  const env = parsed.data;
  return {
    ...env,
    MALLEO_MEDIATOR_HOST: mediatorListenHost(env),
    dataDir: path.resolve(env.MALLEO_DATA_DIR),
    // DBOS keeps its own tables; by default in a sibling database `<name>_dbos` on the same server.
    systemDatabaseUrl: systemDatabaseUrlFor(env.DATABASE_URL, env.MALLEO_SYSTEM_DATABASE_URL ?? ""),
    clusterMediators: (env.MALLEO_CLUSTER_MEDIATORS ?? "").split(",").filter((a) => a.trim() !== ""),
  };
}
