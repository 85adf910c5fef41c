import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { spawnLocalTheater, type TheaterFault } from "@malleo/actors";
import { AppError } from "@malleo/core";
import { actorUansPlaceableOnVm, vmListLive, type Db } from "@malleo/db";
import type { Mediator } from "@malleo/mediator";
import type { Logger } from "./log";

type LocalTheater = ReturnType<typeof spawnLocalTheater>;
interface TheaterRecord {
  vmId: string;
  name: string;
  pid: number;
  secret: string;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function killPid(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // already gone
  }
}

/**
 * The local theater processes of simulated VMs: spawned, recorded (so that a restarted worker
 * adopts the detached ones that survived it), adopted, killed.
 */
export class TheaterSupervisor {
  private readonly theaters = new Map<string, LocalTheater>();
  /** Theaters started by an earlier worker process and adopted by this one: vmId → pid. */
  private readonly adopted = new Map<string, number>();
  /** Known once the Mediator listens. */
  mediatorAddress = "";
  /** Test adapter: the next theater started dies at this point of the migration protocol. */
  nextFault: TheaterFault | undefined;

  constructor(
    private readonly db: Db,
    private readonly mediator: Mediator,
    private readonly opts: {
      dataDir: string;
      theaterTimeoutMs: () => number;
      /** Theaters survive a worker crash and are adopted by the next worker (needs a fixed Mediator port). */
      detach: boolean;
      /** Every worker's Mediator (this one's first): a theater tries them in turn when its own goes away. */
      mediatorAddresses?: () => string[];
      log: Logger;
    },
  ) {}

  private recordPath(vmId: string): string {
    return path.join(this.opts.dataDir, "theaters", `${vmId}.json`);
  }

  /** Starts the VM's theater (unless one is registered) and waits for it to register. */
  async start(vmId: string, name: string): Promise<void> {
    if (this.mediator.theater(vmId)) return;
    this.theaters.get(vmId)?.kill();
    this.theaters.delete(vmId);
    const secret = randomBytes(24).toString("hex");
    // A new theater brings no actor: it gets them from spawns and migrations the Mediator drives.
    this.mediator.expectTheater(vmId, secret, { actors: [] });
    const logDir = path.join(this.opts.dataDir, "logs");
    mkdirSync(logDir, { recursive: true });
    const theater = spawnLocalTheater({
      vmId,
      mediator: (this.opts.mediatorAddresses?.() ?? [this.mediatorAddress]).join(","),
      secret,
      logFile: path.join(logDir, `theater-${name}.log`),
      detached: this.opts.detach,
      fault: this.nextFault,
    });
    this.nextFault = undefined;
    if (this.opts.detach) {
      // The record lets a restarted worker adopt this theater (it reconnects with the same secret).
      // It holds the VM's secret: readable by the worker's user only.
      const dir = path.dirname(this.recordPath(vmId));
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      chmodSync(dir, 0o700);
      const record: TheaterRecord = { vmId, name, pid: theater.pid, secret };
      writeFileSync(this.recordPath(vmId), JSON.stringify(record), { mode: 0o600 });
      chmodSync(this.recordPath(vmId), 0o600);
    }
    this.theaters.set(vmId, theater);
    void theater.exited.then((code) => {
      if (this.theaters.get(vmId) === theater) this.theaters.delete(vmId);
      this.opts.log({ event: "theater exited", vmId, name, code });
    });
    const timeoutMs = this.opts.theaterTimeoutMs();
    try {
      await this.mediator.awaitTheater(vmId, timeoutMs);
    } catch {
      this.kill(vmId);
      throw new AppError("THEATER_TIMEOUT", `the theater of ${name} did not register within ${timeoutMs} ms`, { vmId });
    }
  }

  /**
   * After a worker restart, step 1 (before the Mediator accepts connections, so that a
   * surviving theater reconnecting at once is not refused): theaters of live VMs that survived
   * (detached) are expected back with their recorded secret; theaters of VMs no longer live are killed.
   */
  async prepareAdoption(): Promise<void> {
    const dir = path.join(this.opts.dataDir, "theaters");
    if (!existsSync(dir)) return;
    chmodSync(dir, 0o700); // records written before this rule were world-readable
    const live = new Map((await vmListLive(this.db)).map((v) => [v.id, v]));
    for (const file of readdirSync(dir).filter((f) => f.endsWith(".json"))) {
      chmodSync(path.join(dir, file), 0o600);
      let record: TheaterRecord;
      try {
        record = JSON.parse(readFileSync(path.join(dir, file), "utf8")) as TheaterRecord;
      } catch {
        rmSync(path.join(dir, file), { force: true });
        continue;
      }
      if (!live.has(record.vmId) || !processAlive(record.pid)) {
        killPid(record.pid);
        rmSync(path.join(dir, file), { force: true });
        continue;
      }
      // It may bring back only actors of the applications placed on its VM (one may have moved
      // between their VMs just before a crash, before Postgres recorded it).
      // The record holds its boot secret; the one it proves now (rotated) is read from Postgres.
      await this.mediator.readmitTheater(record.vmId, record.secret, {
        actors: await actorUansPlaceableOnVm(this.db, record.vmId),
      });
      this.adopted.set(record.vmId, record.pid);
    }
  }

  /** Step 2: waits for the expected theaters to reconnect; one that does not is killed (and replaced by restoreVms). */
  async adopt(): Promise<void> {
    await Promise.all(
      [...this.adopted].map(([vmId, pid]) =>
        this.mediator.awaitTheater(vmId, this.opts.theaterTimeoutMs()).then(
          () => this.opts.log({ event: "theater adopted", vmId, pid }),
          () => {
            this.opts.log({ event: "theater not adopted: did not reconnect", vmId, pid });
            this.kill(vmId);
          },
        ),
      ),
    );
  }

  /** Kills the VM's local theater process, if any (a lost one that might still hang on). */
  kill(vmId: string): void {
    this.theaters.get(vmId)?.kill();
    this.theaters.delete(vmId);
    const pid = this.adopted.get(vmId);
    if (pid !== undefined) killPid(pid);
    this.adopted.delete(vmId);
    rmSync(this.recordPath(vmId), { force: true });
  }

  /** Process id of a simulated VM's local theater (its CPU time stands in for the VM's). */
  pid(vmId: string): number | undefined {
    return this.theaters.get(vmId)?.pid ?? this.adopted.get(vmId);
  }

  /** Kills every theater it started or adopted and waits for the ones it started to exit. */
  async stopAll(): Promise<void> {
    const exits = [...this.theaters.values()].map((t) => t.exited);
    for (const vmId of new Set([...this.theaters.keys(), ...this.adopted.keys()])) this.kill(vmId);
    await Promise.all(exits);
  }

  /** Forgets the processes without killing them (a crash-like stop leaves detached ones running). */
  forget(): void {
    this.theaters.clear();
  }
}
