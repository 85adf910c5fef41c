import type { BundleReply } from "@malleo/actors";
import type { Channel } from "@malleo/actors";
import type { Checkpoints } from "./checkpoints";
import type { ActorDirectory } from "./directory";
import type { MigrationCoordinator } from "./migration-coordinator";
import type { ReadyBarrier } from "./ready-barrier";
import type { TheaterRegistry } from "./registry";

/**
 * What the parts of a Mediator share: options, log, the link-closing rules, and each other.
 * `mediator.ts` builds one and hands it to every part.
 */

export interface TheaterInfo {
  vmId: string;
  /** host:port other theaters dial. */
  address: string;
  pid: number;
  registeredAt: Date;
}

export interface ActorInfo {
  uan: string;
  vmId: string;
  behavior: string;
  stateBytes?: number;
}

export interface ProgressEvent {
  app: string;
  uan: string;
  vmId: string;
  iteration: number;
}

export interface MediatorOptions {
  host?: string;
  /** 0 = ephemeral. */
  port?: number;
  log?: (entry: Record<string, unknown>) => void;
  /** Per-request deadline for ordinary theater requests (spawn, resume, collect…); default 30 s. */
  requestTimeoutMs?: number;
  /** How long the target of a migration may take to acknowledge; default 60 s. */
  migrationTimeoutMs?: number;
  /**
   * When a migration's source drops its Mediator connection, how long it has to come back
   * before it is taken for dead and the target adopts the copies it acknowledged; default 5 s.
   */
  sourceLossGraceMs?: number;
  /**
   * The cluster peer key handed to every admitted theater; theaters link to each other only after
   * proving it. Default: 32 random bytes (then theaters admitted by another Mediator, or by this
   * one before a restart, cannot link to the ones admitted now: pass a persisted key to share it).
   */
  peerKey?: Uint8Array;
  /**
   * Every Mediator address theaters may fail over to, sent in each registration reply (it
   * replaces the theater's list). Absent: theaters keep the list they were started with.
   */
  mediatorAddresses?: () => string[];
  /**
   * Every `heartbeatMs` each registered theater is asked a no-op request; one that does not answer
   * within `heartbeatTimeoutMs` (default 5 s) has its connection closed, which counts as a loss
   * (a hung guest or a lost host never closes its TCP connection). Absent: no heartbeat.
   */
  heartbeatMs?: number;
  heartbeatTimeoutMs?: number;
  /**
   * For this long after a theater was sent a bundle (default 60 s), a heartbeat it misses does
   * not close its connection: importing a bundle blocks its event loop (seconds under software
   * emulation, most of it evaluating the bundle's dependencies). One that still does not answer
   * once the grace is over is lost as any other.
   */
  bundleLoadGraceMs?: number;
  /** How long a new connection has to be admitted (`admit` with the VM's secret); default 10 s. */
  admissionTimeoutMs?: number;
  /** Connections not admitted yet, at most; more are closed at once. Default 256. */
  maxUnadmittedConnections?: number;
  /** …and at most this many from one remote address; default 32. */
  maxUnadmittedPerAddress?: number;
  /**
   * Where rotated VM secrets are kept (the worker: Postgres). Given, every registration spends
   * the secret it proved: the reply carries a fresh one, saved here first, and once the theater
   * confirms it the old one is refused. Absent: secrets are not rotated.
   */
  secretStore?: TheaterSecretStore;
  /**
   * The bundle an application runs (the worker: Postgres), for a theater that lacks its
   * behaviors; null when the application runs no bundle. Absent: theaters are refused bundles.
   */
  bundleFor?: (applicationId: string, vmId: string) => Promise<BundleReply | null>;
}

/** SHA-256 digests of a VM's secrets: its boot secret's, and those a theater may prove now (newest first). */
export interface TheaterSecrets {
  boot: Buffer;
  accepted: Buffer[];
}

export interface TheaterSecretStore {
  save(vmId: string, secrets: TheaterSecrets): Promise<void>;
  load(vmId: string): Promise<TheaterSecrets | null>;
}

export interface TheaterRecord {
  info: TheaterInfo;
  channel: Channel;
  /** Set by stopTheater: the coming disconnect is expected, not a loss. */
  stopping: boolean;
}

export type MediatorLogLevel = "debug" | "info" | "warn" | "error";

export interface MediatorRuntime {
  readonly options: MediatorOptions;
  readonly log: (level: MediatorLogLevel, msg: string, fields?: Record<string, unknown>) => void;
  /** Per-request deadline for ordinary theater requests. */
  readonly requestTimeoutMs: number;
  /** The cluster peer key handed to admitted theaters. */
  readonly peerKey: Buffer;
  /** Closes a link that sent something malformed or not allowed, and says so in the log. */
  dropLink(channel: Channel, reason: string, options?: { afterReply?: boolean }): void;
  readonly registry: TheaterRegistry;
  readonly directory: ActorDirectory;
  readonly ready: ReadyBarrier;
  readonly migrations: MigrationCoordinator;
  readonly checkpoints: Checkpoints;
}

/** A theater's reply, checked; a malformed one closes the link and fails the request. */
export function checkedReply<T>(
  rt: MediatorRuntime,
  record: TheaterRecord,
  what: string,
  reply: unknown,
  valid: (reply: unknown) => boolean,
): T {
  if (valid(reply)) return reply as T;
  rt.dropLink(record.channel, `malformed ${what} reply`);
  throw new Error(`the theater of VM ${record.info.vmId} sent a malformed ${what} reply`);
}
