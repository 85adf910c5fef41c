import os from "node:os";
import { DBOS } from "@dbos-inc/dbos-sdk";
import {
  workerBecomeLeader,
  workerHeartbeat,
  WorkerLease,
  workerListConnected,
  workerListLive,
  workerRegister,
  workerStopped,
  workerTakeOverLeaders,
  type Db,
} from "@malleo/db";
import type { WorkerEnv } from "./env";
import type { Logger } from "./log";

/**
 * One worker among several on one Postgres. Exactly one leads — it holds the lease (a session
 * advisory lock) and runs the Mediator, the workflows, the theaters and the applications; the
 * others wait as standbys. A standby that wins the lease takes over: it adopts the theaters,
 * and resumes the workflows the dead leader's executor left pending (DBOS recovers only its own
 * executor's workflows at launch).
 */
export class ClusterMembership {
  private timer: NodeJS.Timeout | undefined;
  private beating = false;
  private live: { executorId: string; mediatorAddress: string }[] = [];

  private constructor(
    private readonly db: Db,
    private readonly lease: WorkerLease,
    private readonly env: WorkerEnv,
    private readonly log: Logger,
    /** What this worker advertises; the real one (an ephemeral port) is known once the Mediator listens. */
    private mediatorAddress: string,
  ) {}

  /** Registers this worker (standby) and starts its heartbeat; refuses an executor ID a live worker holds. */
  static async join(db: Db, env: WorkerEnv, log: Logger): Promise<ClusterMembership> {
    const lease = await WorkerLease.open(env.DATABASE_URL, env.MALLEO_EXECUTOR_ID, log);
    const address = `${env.MALLEO_MEDIATOR_HOST}:${env.MALLEO_MEDIATOR_PORT}`;
    await workerRegister(db, {
      executorId: env.MALLEO_EXECUTOR_ID,
      mediatorAddress: address,
      adminUrl: env.MALLEO_WORKER_ADMIN_PORT ? `http://127.0.0.1:${env.MALLEO_WORKER_ADMIN_PORT}` : null,
      pid: process.pid,
      hostname: os.hostname(),
    });
    const m = new ClusterMembership(db, lease, env, log, address);
    await m.beat();
    m.timer = setInterval(() => void m.beat(), env.MALLEO_HEARTBEAT_MS);
    return m;
  }

  private async beat(): Promise<void> {
    if (this.beating) return;
    this.beating = true;
    try {
      await this.lease.ping();
      await workerHeartbeat(this.db, this.env.MALLEO_EXECUTOR_ID, this.mediatorAddress);
      this.live = await workerListLive(this.db, this.env.MALLEO_HEARTBEAT_MS * 5);
    } catch (e) {
      this.log({ event: "heartbeat failed", error: (e as Error).message });
    } finally {
      this.beating = false;
    }
  }

  /** Blocks while another worker leads. */
  async awaitLeadership(): Promise<void> {
    await this.lease.awaitLeadership(this.env.MALLEO_LEASE_POLL_MS, () =>
      this.log({
        event: "standby: another worker leads",
        leader: this.live.find((w) => w.executorId !== this.env.MALLEO_EXECUTOR_ID)?.executorId ?? "unknown",
      }),
    );
    this.log({ event: "lease won: leading", executorId: this.env.MALLEO_EXECUTOR_ID });
  }

  /** `handler` runs if another worker took the lease while this one was cut off from Postgres. */
  onDeposed(handler: (reason: string) => void): void {
    this.lease.onDeposed(handler);
  }

  /**
   * Every Mediator address a theater should try, this worker's first: the configured ones
   * (MALLEO_CLUSTER_MEDIATORS) and those of the live workers. Theaters cycle through them when
   * their Mediator goes away, so they find whichever worker leads next.
   */
  mediatorAddresses(): string[] {
    const all = [this.mediatorAddress, ...this.env.clusterMediators, ...this.live.map((w) => w.mediatorAddress)];
    return [...new Set(all.filter((a) => a !== "" && !a.endsWith(":0")))];
  }

  /** Other workers connected now (standbys that would take over if this one stopped). */
  async standbys(): Promise<string[]> {
    return (await workerListConnected(this.db)).filter((id) => id !== this.env.MALLEO_EXECUTOR_ID);
  }

  /** Records the lead with the Mediator's real address (the Mediator listens by now). */
  async lead(mediatorAddress: string): Promise<void> {
    this.mediatorAddress = mediatorAddress;
    await workerBecomeLeader(this.db, this.env.MALLEO_EXECUTOR_ID, mediatorAddress);
    await this.beat();
  }

  /**
   * After DBOS.launch: the workflows other executors left PENDING can only belong to workers
   * that no longer lead (this one holds the lease), so they are resumed here — DBOS re-enqueues
   * them and this executor's queue runner continues each from its last recorded step.
   */
  async takeOver(): Promise<{ from: string[]; workflows: string[] }> {
    const from = await workerTakeOverLeaders(this.db, this.env.MALLEO_EXECUTOR_ID);
    const pending = await DBOS.listWorkflows({ status: "PENDING" });
    const orphaned = pending.filter((w) => w.executorId !== DBOS.executorID);
    if (orphaned.length > 0) await DBOS.resumeWorkflows(orphaned.map((w) => w.workflowID));
    const executors = [...new Set([...from, ...orphaned.map((w) => w.executorId ?? "unknown")])];
    const workflows = orphaned.map((w) => w.workflowID);
    if (executors.length > 0 || workflows.length > 0) this.log({ event: "took over", from: executors, workflows });
    return { from: executors, workflows };
  }

  async leave(): Promise<void> {
    clearInterval(this.timer);
    await workerStopped(this.db, this.env.MALLEO_EXECUTOR_ID).catch((e: Error) =>
      this.log({ event: "worker row not updated", error: e.message }),
    );
    await this.lease.close();
  }
}
