// Every body that crosses a Channel. Requests expect a reply (see the `…Reply` types); the
// rest are one-way. Bodies are V8 structured clones, so typed arrays and Maps are allowed.

export interface ActorSpec {
  uan: string;
  behavior: string;
  init: unknown;
}

export interface HostedActor {
  uan: string;
  behavior: string;
  stateBytes?: number;
}

/** One entry of an actor's mailbox; what migrates with it. */
export type MailboxEntry = { kind: "start" } | { kind: "message"; from: string | null; body: unknown };

export interface DirectoryEntry {
  uan: string;
  /** Theater address, or null when the actor is gone. */
  address: string | null;
}

export interface ProgressItem {
  uan: string;
  iteration: number;
}

// ── theater → mediator ───────────────────────────────────────────────────────────────────────
/**
 * The first frame on a Mediator connection, as JSON: proves the VM with its secret. Until it is
 * accepted the Mediator takes only JSON frames of at most 64 KiB and nothing but `admit`.
 */
export interface AdmitRequest {
  type: "admit";
  vmId: string;
  secret: string;
  address: string;
  pid: number;
}
export interface AdmitReply {
  admitted: true;
}
export interface RegisterRequest {
  type: "register";
  vmId: string;
  secret: string;
  address: string;
  pid: number;
  /** Actors already hosted: a theater re-registering after a Mediator restart rebuilds the directory. */
  actors: HostedActor[];
}
export interface RegisterReply {
  accepted: true;
  /**
   * The cluster peer key: proving it opens theater-to-theater links (see peer-auth.ts). Handed
   * only to a theater that proved its VM with the per-VM secret, over that same connection.
   */
  peerKey?: Uint8Array;
  /** Every Mediator address a theater may fail over to (replaces its list); absent: keep the list. */
  mediators?: string[];
  /**
   * A fresh secret for this VM (when the Mediator rotates secrets): the theater proves it from
   * now on, for any later registration, and confirms with `secret-adopted`; the one it
   * registered with is refused once confirmed.
   */
  secret?: string;
}
/** A refused registration is answered with an error reply starting with this, then the connection is closed. */
export const REGISTRATION_REFUSED_PREFIX = "registration refused: ";
export interface ResolveRequest {
  type: "resolve";
  uan: string;
}
export interface ResolveReply {
  address: string | null;
}
export interface ProgressMessage {
  type: "progress";
  items: ProgressItem[];
}
/** Actors that reached their safe point after the `prepare` reply was sent. */
export interface HeldMessage {
  type: "held";
  uans: string[];
}

// ── mediator → theater ───────────────────────────────────────────────────────────────────────
export interface SpawnRequest {
  type: "spawn";
  specs: ActorSpec[];
}
export interface SpawnReply {
  actors: HostedActor[];
}
export interface PrepareRequest {
  type: "prepare";
  uans: string[];
}
export interface PrepareReply {
  /** Already held; the rest follow in `held` messages. */
  held: string[];
  /** Not hosted here. */
  unknown: string[];
}
export interface ResumeRequest {
  type: "resume";
  uans: string[] | "all";
}
export interface MigrateOutRequest {
  type: "migrate-out";
  uans: string[];
  targetAddress: string;
  /** How long to wait for the target's acknowledgement. */
  timeoutMs: number;
  /**
   * Live transfer: the target runs the actors as soon as it commits them (they arrive held
   * otherwise), and the source resumes them here if the move fails.
   */
  resumeOnArrival?: boolean;
}
export interface MigrateOutReply {
  moved: number;
  bytes: number;
  actors: HostedActor[];
  /**
   * Per moved actor, in `actors` order: milliseconds from held at the source to committed at
   * the target — running there, for a live transfer.
   */
  holdMs?: number[];
  /**
   * The commit was sent but its answer lost (the link dropped): the actors wait, not running,
   * until the Mediator learns from the target which were committed (`migrate-finish`).
   */
  inDoubt?: boolean;
}
export interface DirectoryUpdateRequest {
  type: "directory";
  entries: DirectoryEntry[];
}
export interface CollectRequest {
  type: "collect";
  uans: string[];
}
export interface CollectReply {
  states: Map<string, unknown>;
  missing: string[];
}
export interface StopRequest {
  type: "stop";
}
/** When this theater's actors made progress in [fromMs, toMs) (epoch ms), one bit a millisecond. */
export interface ActivityRequest {
  type: "activity";
  fromMs: number;
  toMs: number;
}
export interface ActivityReply {
  startMs: number;
  bits: Uint8Array;
  length: number;
}

// ── theater ⇄ theater (and mediator → theater for external sends) ───────────────────────────────
export interface DeliverMessage {
  type: "deliver";
  to: string;
  from: string | null;
  body: unknown;
  /** Forwarding hops so far: a bound against pointer cycles. */
  hops: number;
  /**
   * Per (sender, receiver) sequence number, from 1; absent for external senders. The receiver
   * delivers in sequence order and drops a number it has already delivered, so a forwarded
   * message overtaken by a direct one is put back in order and nothing is delivered twice.
   */
  seq?: number;
}
/** Sent back to a theater that delivered to a stale locator: where the actor lives now. */
export interface MovedMessage {
  type: "moved";
  uan: string;
  address: string;
}
/**
 * Carries one batch of MigratedActor records as the request's raw payload, in the binary
 * encoding of migration-codec.ts (typed arrays as raw bytes, written and received without copies).
 */
export interface MigrateInRequest {
  type: "migrate-in";
  /** One transfer is streamed as several pipelined batches on one connection. */
  transfer: number;
  /** The last batch: its reply acknowledges the whole transfer. */
  last: boolean;
}
/** Second phase: the target may now let the actors run; until then it discards them if the link drops. */
export interface MigrateCommitRequest {
  type: "migrate-commit";
  uans: string[];
  /** Run them at once (live transfer) instead of holding them until `resume`. */
  resume?: boolean;
}
export interface MigratedActor {
  uan: string;
  behavior: string;
  state: unknown;
  mailbox: MailboxEntry[];
  /** Delivery order state, which moves with the actor: last sequence sent per receiver… */
  sendSeq: Map<string, number>;
  /** …next sequence expected per sender… */
  recvNext: Map<string, number>;
  /** …and messages that arrived ahead of a gap, per sender, by sequence. */
  reorder: Map<string, Map<number, { from: string; body: unknown }>>;
  /** Where the actor's sequence numbers start (absent: 0); raised by each restore from a checkpoint. */
  seqBase?: number;
  profile: ActorProfileCounters;
  /** In a checkpoint's copy: the behavior's `progress` of this state, computed by the theater (absent: none reported). */
  progress?: number;
}

/** Copies of actors as a migration would ship them, left in place (a checkpoint's content). */
export interface SnapshotRequest {
  type: "snapshot";
  uans: string[];
}
export interface SnapshotReply {
  actors: MigratedActor[];
  /** Not here (or mid-migration). */
  missing: string[];
  /** Which of `actors` were held at their safe point when copied. */
  held: string[];
}
/**
 * The delivery counters of actors, for a consistent cut: sequence numbers sent, taken in order,
 * and held out of order, per peer. With `keep`, the theater also copies the actors (as a snapshot
 * would) and keeps the copy under that token until `snapshot-fetch`: the actors can run again
 * before the copy travels.
 */
export interface CutRequest {
  type: "cut";
  uans: string[];
  keep?: string;
}
export interface ActorCounters {
  uan: string;
  sendSeq: Map<string, number>;
  recvNext: Map<string, number>;
  /** How many messages wait out of order, per sender. */
  waiting: Map<string, number>;
  seqBase?: number;
}
export interface CutReply {
  counters: ActorCounters[];
  missing: string[];
  held: string[];
  /** A copy was kept under the token. */
  kept: boolean;
}
/** The copy a `cut` with `keep` took, sent once and forgotten. */
export interface SnapshotFetchRequest {
  type: "snapshot-fetch";
  token: string;
}
export interface SnapshotFetchReply {
  /** v8-serialized MigratedActor[]. */
  data: Uint8Array;
}
/** Theater → Mediator: the bundle of an application whose behaviors this theater lacks. */
export interface BundleRequest {
  type: "bundle";
  applicationId: string;
  behaviors: string[];
}
/** The bundle the application runs: its file's bytes and the sha256 it was registered with. */
export interface BundleReply {
  kind: string;
  version: string;
  sha256: string;
  bytes: Uint8Array;
}
/** Installs actors from a checkpoint, running, with sequence numbers rebased onto `seqBase`. */
export interface RestoreRequest {
  type: "restore";
  actors: MigratedActor[];
  seqBase: number;
}
/** Drops actors here (their application is being restored from a checkpoint). */
export interface DiscardRequest {
  type: "discard";
  uans: string[];
}

/** What the theater measures per actor (SALSA/IOS-style profiling), for placement and the UI. */
export interface ActorProfileCounters {
  /** Messages received, by sender UAN ("external" for senders outside the actor system). */
  receivedFrom: Map<string, number>;
  /** Messages sent, by receiver UAN. */
  sentTo: Map<string, number>;
  /** Handler calls and the time spent in them. */
  handled: number;
  busyMs: number;
}

export interface ActorProfile {
  uan: string;
  behavior: string;
  stateBytes: number;
  mailboxLength: number;
  handled: number;
  busyMs: number;
  receivedFrom: Record<string, number>;
  sentTo: Record<string, number>;
}
export interface ProfileRequest {
  type: "profile";
}
export interface ProfileReply {
  actors: ActorProfile[];
}
/** Only the message counters of each actor: what the console's communication view samples, cheap (no state sizes). */
export interface MessageCountsRequest {
  type: "message-counts";
}
export interface MessageCountsReply {
  actors: { uan: string; sentTo: Record<string, number> }[];
}

/** Mediator → target after a failed migration: what became of the transferred actors. */
export interface MigrateSettleRequest {
  type: "migrate-settle";
  uans: string[];
  /** False when the source theater is gone: acknowledged copies are then the only ones and are adopted. */
  sourceAlive: boolean;
}
export interface MigrateSettleReply {
  /** Committed before the failure (the source must let them go). */
  committed: string[];
  /** Acknowledged copies adopted because the source is gone. */
  adopted: string[];
  discarded: string[];
}
/** Mediator → source whose commit went unanswered: let go of those the target committed, keep the rest. */
export interface MigrateFinishRequest {
  type: "migrate-finish";
  uans: string[];
  committed: string[];
}
/** A stopping theater asks each peer that connected to it to stop sending on that connection. */
export interface GoodbyeMessage {
  type: "goodbye";
}
/** Sent on the same connection: FIFO order proves all earlier deliveries have arrived. */
export interface GoodbyeAckMessage {
  type: "goodbye-ack";
}

export type MediatorToTheaterRequest =
  | SpawnRequest
  | PrepareRequest
  | ResumeRequest
  | MigrateOutRequest
  | MigrateSettleRequest
  | MigrateFinishRequest
  | DirectoryUpdateRequest
  | CollectRequest
  | ProfileRequest
  | MessageCountsRequest
  | ActivityRequest
  | SnapshotRequest
  | RestoreRequest
  | DiscardRequest
  | StopRequest;

export type TheaterToMediatorMessage = ProgressMessage | HeldMessage;

export function bodyType(body: unknown): string | undefined {
  const type = (body as { type?: unknown } | null | undefined)?.type;
  return typeof type === "string" ? type : undefined;
}
