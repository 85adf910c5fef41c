import type { BehaviorRegistry } from "./behavior";
import type { ActorCells } from "./actor-cells";
import type { BundleBehaviors } from "./bundle-behaviors";
import type { Checkpoints } from "./checkpoint";
import type { Mailboxes } from "./mailbox";
import type { MediatorClient } from "./mediator-client";
import type { Migration } from "./migration";
import type { BundleReply } from "./protocol";
import type { Routing } from "./routing";

/**
 * What the parts of a theater share: its options, its log, its counters and flags, and each
 * other. `theater.ts` builds one and hands it to every part; no part holds another's state.
 */

export type LogFields = Record<string, unknown>;
export type TheaterLog = (entry: LogFields) => void;
export type LogLevel = "debug" | "info" | "warn" | "error";

export interface TheaterOptions {
  vmId: string;
  /**
   * Mediator addresses, host:port, as a list or comma-separated: tried in turn (failover). A
   * Mediator's registration reply may replace the list (workers started later).
   */
  mediator: string | readonly string[];
  secret: string;
  behaviors: BehaviorRegistry;
  /** Interface to listen on for other theaters; default 127.0.0.1. */
  listenHost?: string;
  listenPort?: number;
  /** Host other theaters should dial (a guest listening on 0.0.0.0 advertises its own IP). */
  advertisedHost?: string;
  /** Progress reports are batched and sent at most this often (default 200 ms). */
  progressIntervalMs?: number;
  /**
   * Pause after a round of the Mediator list in which none accepted us; it doubles each round up
   * to `reconnectMaxDelayMs` (defaults 100 ms and 2 s).
   */
  reconnectDelayMs?: number;
  reconnectMaxDelayMs?: number;
  /** How long `start` keeps trying to reach the Mediator (default 60 s). */
  registrationTimeoutMs?: number;
  /** Receives one structured entry per event; default: one JSON line on stderr. */
  log?: TheaterLog;
  /** Called when the theater cannot go on (e.g. its registration was refused after a reconnect). */
  onFatal?: (reason: string) => void;
  /**
   * Mailbox bound (messages, default 10,000). A local sender to a fuller mailbox is not run
   * again until it has drained to half; a peer delivering to it is not read from meanwhile.
   * One handler call can still overshoot the bound by what it sends.
   */
  mailboxLimit?: number;
  /** A migration streams its actors in pipelined batches of about this many bytes (default 4 MiB). */
  migrationBatchBytes?: number;
  /** Test hooks to make failure windows deterministic. */
  faults?: TheaterFaultHooks;
  /**
   * Imports an application bundle the Mediator sent (its sha256 already checked) and returns its
   * behaviors; without it, actors of behaviors the theater was not started with are refused.
   */
  importBundle?: (bundle: BundleReply) => Promise<BehaviorRegistry>;
}

export interface TheaterFaultHooks {
  /** Target: all batches installed, before the acknowledgement goes out. */
  beforeMigrationAck?: () => void;
  /** Target: batch `index` (from 0) installed, before its reply. */
  afterMigrationBatchReceived?: (index: number) => void;
  /** Source: batch `index` written to the link; `dropLink` cuts the connection as a network fault would. */
  afterMigrationBatchSent?: (index: number, dropLink: () => void) => void;
  /** Source: the target acknowledged the whole transfer, before the commit is sent. */
  afterMigrationAcknowledged?: () => void;
}

export interface TheaterStats {
  actors: number;
  delivered: number;
  forwarded: number;
  parked: number;
  migratedOut: number;
  migratedIn: number;
  /** Sequenced messages that arrived ahead of an earlier one and waited for it. */
  reordered: number;
  /** Times an actor was paused because a mailbox or link it sent to was full. */
  throttled: number;
  /** Longest mailbox seen. */
  mailboxHighWater: number;
  /** Sequenced messages already delivered, dropped on a second arrival. */
  duplicates: number;
}

export type TheaterCounters = Omit<TheaterStats, "actors" | "parked">;

export interface TheaterRuntime {
  readonly vmId: string;
  readonly options: TheaterOptions;
  readonly log: (level: LogLevel, msg: string, fields?: LogFields) => void;
  readonly counters: TheaterCounters;
  /** host:port other theaters dial; empty before `start`. */
  advertisedAddress: string;
  stopping: boolean;
  /** After `simulateCrash`: the theater never acts again. */
  crashed: boolean;
  readonly cells: ActorCells;
  readonly mailboxes: Mailboxes;
  readonly routing: Routing;
  readonly migration: Migration;
  readonly checkpoints: Checkpoints;
  readonly mediator: MediatorClient;
  readonly bundles: BundleBehaviors;
}

export function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(undefined), timeoutMs);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      () => {
        clearTimeout(timer);
        resolve(undefined);
      },
    );
  });
}
