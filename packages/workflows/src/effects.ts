import type { ActivityBits, OperationPlan } from "@malleo/core";
import type { Db } from "@malleo/db";

/** A VM the workflow asks the VM Manager to create: row already recorded, domain and theater to come. */
export interface ProvisionRequest {
  id: string;
  name: string;
  hostId: string;
  applicationId: string;
  vcpus: number;
  memoryMiB: number;
}

/**
 * What the split/merge workflow does to the world outside Postgres. The worker implements it
 * with the VM Manager (libvirt + theaters) and the Mediator; each method is idempotent so a
 * resumed workflow can call it again.
 */
export interface OperationEffects {
  db: Db;
  /** Asks the actors to reach their safe point; resolves with who did and who did not in time. */
  awaitActorsReady(vmId: string, uans: string[], timeoutMs: number): Promise<{ ready: string[]; notReady: string[] }>;
  /** Creates the domain and boots its theater; resolves once the theater has registered. */
  provisionVm(vm: ProvisionRequest): Promise<void>;
  /** Stops the theater and destroys + undefines the domain. Missing is fine. */
  destroyVm(vmId: string): Promise<void>;
  /**
   * Moves actors between theaters. `live`: each runs at the target as soon as it is committed
   * there, and runs on at the source if the move fails (nothing is left held). `holdMs`: per
   * moved actor, from held at the source to committed at the target.
   */
  migrateActors(
    uans: string[],
    fromVmId: string,
    toVmId: string,
    options?: { live?: boolean },
  ): Promise<{ moved: number; bytes: number; holdMs?: number[] }>;
  resumeActors(vmId: string, uans: string[]): Promise<void>;
  /**
   * Whether the VM's theater is lost: false at once while it is registered; otherwise after the
   * grace period in which it may come back. A lost VM is recorded `lost`, its application
   * `degraded`, and its recovery (restore from the last checkpoint) runs once the operation ends.
   */
  theaterLost(vmId: string): Promise<boolean>;
  /** Where each actor lives now (by the theaters' own account); absent = not found anywhere. */
  locateActors(uans: string[]): Promise<Map<string, string>>;
  /**
   * Checkpoints the whole application at a consistent cut and waits for the write. `heldVms`:
   * the VMs whose actors this operation's ready barrier already holds (copied as they are, and
   * left held; the application's other actors are held just for the copy). Resolves with what was written, or why none was
   * needed (checkpoints off, another operation running on the application); throws
   * CHECKPOINT_FAILED when one could not be taken or written.
   */
  checkpointApplication(
    applicationId: string,
    options: {
      operationId: string;
      kind: OperationPlan["kind"];
      heldVms: readonly string[];
      /** Taken even when the application's periodic checkpoints are off; another operation in the way fails it (an upgrade). */
      required?: boolean;
    },
  ): Promise<OperationCheckpoint>;
  /**
   * Restarts every theater of the application (each VM's domain booted afresh, as a recovery
   * does) and restores every actor from checkpoint `sequence` under the bundle version the
   * application row now records; with `migrateFrom`, the checkpoint's states are first read by
   * that version's `migrateState` (in a child process). `onRebooted` is called as each VM's
   * domain is up again with its new theater, before any actor is restored (the chaos suite's
   * fault points). Resolves with what was restored.
   */
  restartApplication?(
    applicationId: string,
    from: { sequence: number; migrateFrom?: number; onRebooted?: (vmId: string, n: number) => void },
  ): Promise<{ sequence: number; iteration: number; restartedVms: string[] }>;
  /** When the actors of each VM made progress over [fromMs, toMs) (epoch ms), for the application's pause. */
  applicationActivity?(vmIds: string[], fromMs: number, toMs: number): Promise<ActivityBits[]>;
  log(entry: Record<string, unknown>): void;
  /** Builds the application's actors (its module, its services) and spawns those no theater hosts yet, where Postgres places them. */
  startApplication(applicationId: string): Promise<void>;
  /** Discards the application's actors on every theater and forgets them (a rolled-back deploy). */
  stopApplication(applicationId: string): Promise<void>;
  /** The chaos suite only: SIGKILL the VM's theater process (see WorkflowTimeouts.killTheaterAt). */
  killTheater?(vmId: string): void;
  /**
   * Called as each recorded step starts, before its body. Production leaves it out; the
   * failure-mode tests use it to hold an operation at a precise point while they arrange a
   * real failure (a concurrent operation, a squatting domain, an unreachable host).
   */
  beforeStep?(operationId: string, step: string): Promise<void>;
}

/** The checkpoint an operation took before Transfer (its step's detail), or why it took none. */
export type OperationCheckpoint =
  | {
      sequence: number;
      takenAt: string;
      iteration: number;
      actors: number;
      bytes: number;
      sha256: string;
      /** `own`: the checkpoint held every actor itself; `barrier`: at the cut of the operation's Ready. */
      cut: "own" | "barrier";
      /** How long the copy took, the actors held (ms). */
      heldMs: number;
    }
  | { skipped: string };

export interface WorkflowTimeouts {
  /** How long the ready barrier waits before asking the operator to extend or abort. */
  readyMs: number;
  /** How long an unanswered ready timeout waits for the operator before aborting. */
  readyDecisionMs: number;
  /** While waiting for that answer (a DBOS message), re-read the recorded decision this often in case a message was lost. */
  readyRecheckMs: number;
  /** Clean-up retry backoff: first delay and cap. */
  cleanupRetryMs: number;
  cleanupRetryMaxMs: number;
  /** Live transfer: actors per move, and moves in flight at once (pipelined: while one commits, the next streams). */
  liveChunkActors: number;
  liveMovesInFlight: number;
  /** Fault injection for the chaos suite: SIGKILL this process at `<step>:<before|after>` (first attempt only). */
  crashAt?: string;
  /**
   * Fault injection for the chaos suite: SIGKILL a theater at `transfer:move<N>:<unrecorded|recorded>:<source|target>`,
   * or an upgrade's at `restart:vm<N>:rebooted` (the N-th VM's new theater), once.
   */
  killTheaterAt?: string;
}
