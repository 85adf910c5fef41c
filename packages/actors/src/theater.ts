import { BundleBehaviors } from "./bundle-behaviors";
import { logLine, logRecord, type LogRecord } from "@malleo/core";
import { createServer, type Server } from "node:net";
import { ActorCells } from "./actor-cells";
import type { Channel } from "./channel";
import { Checkpoints } from "./checkpoint";
import { Mailboxes } from "./mailbox";
import { MediatorClient } from "./mediator-client";
import { Migration } from "./migration";
import { formatAddress } from "./names";
import type { HostedActor } from "./protocol";
import { Routing } from "./routing";
import {
  withTimeout,
  type LogFields,
  type LogLevel,
  type TheaterLog,
  type TheaterOptions,
  type TheaterRuntime,
  type TheaterStats,
} from "./theater-runtime";

export { TheaterRefusedError } from "./mediator-client";
export type { LogFields, TheaterFaultHooks, TheaterLog, TheaterOptions, TheaterStats } from "./theater-runtime";

const STOP_STEP_TIMEOUT_MS = 3_000;

/**
 * A theater: hosts actors on one VM. This class composes the parts and owns the lifecycle
 * (start, graceful stop, simulated crash); each part lives in the file named for it:
 * `mediator-client.ts` (the Mediator link and failover), `actor-cells.ts` (actors and hold),
 * `mailbox.ts` (mailboxes and ordering), `routing.ts` (routing and peer links), `migration.ts`
 * (what moves an actor) and `checkpoint.ts` (snapshot and restore).
 */
export class Theater {
  readonly vmId: string;
  private readonly rt: TheaterRuntime;
  private server: Server | null = null;
  private resolveStopped: () => void = () => {};
  /** Resolves when the theater has stopped (after a graceful stop requested by the Mediator or `stop()`). */
  readonly stopped: Promise<void>;

  constructor(options: TheaterOptions) {
    this.vmId = options.vmId;
    // The one log schema (packages/core log.ts): time, level, component, msg, then the fields.
    const sink: TheaterLog = options.log ?? ((entry) => process.stderr.write(`${logLine(entry as LogRecord)}\n`));
    const log = (level: LogLevel, msg: string, fields: LogFields = {}) =>
      sink(logRecord("theater", level, msg, { vmId: this.vmId, ...fields }));
    this.stopped = new Promise((resolve) => (this.resolveStopped = resolve));
    // The parts reach each other through `rt`; each is created once, here.
    const rt = {
      vmId: options.vmId,
      options,
      log,
      counters: {
        delivered: 0,
        forwarded: 0,
        migratedOut: 0,
        migratedIn: 0,
        reordered: 0,
        duplicates: 0,
        throttled: 0,
        mailboxHighWater: 0,
      },
      advertisedAddress: "",
      stopping: false,
      crashed: false,
    } as { -readonly [K in keyof TheaterRuntime]: TheaterRuntime[K] };
    rt.mediator = new MediatorClient(rt, {
      drainForStop: () => this.drainForStop(),
      finishStop: (channel) => this.finishStop(channel),
    });
    rt.cells = new ActorCells(rt);
    rt.mailboxes = new Mailboxes(rt);
    rt.routing = new Routing(rt);
    rt.migration = new Migration(rt);
    rt.checkpoints = new Checkpoints(rt);
    rt.bundles = new BundleBehaviors(rt);
    this.rt = rt;
  }

  /** The Mediator addresses this theater would try now, in order. */
  get mediatorAddresses(): string[] {
    return this.rt.mediator.addresses;
  }

  /** host:port other theaters dial; empty before `start`. */
  get address(): string {
    return this.rt.advertisedAddress;
  }

  get stats(): TheaterStats {
    return { actors: this.rt.cells.byUan.size, parked: this.rt.routing.parkedMessages, ...this.rt.counters };
  }

  hostedActors(): HostedActor[] {
    return this.rt.cells.hostedActors();
  }

  /** Listens for peers, then registers with the Mediator. Rejects with TheaterRefusedError if refused. */
  async start(): Promise<{ address: string }> {
    const { options, mediator } = this.rt;
    const listenHost = options.listenHost ?? "127.0.0.1";
    const server = createServer((socket) => this.rt.routing.acceptPeer(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.listenPort ?? 0, listenHost, () => {
        server.off("error", reject);
        resolve();
      });
    });
    const port = (server.address() as { port: number }).port;
    this.rt.advertisedAddress = formatAddress(options.advertisedHost ?? listenHost, port);
    mediator.startProgress(options.progressIntervalMs ?? 200);
    try {
      await mediator.registerAnywhere(Date.now() + (options.registrationTimeoutMs ?? 60_000));
    } catch (error) {
      mediator.stopProgress();
      server.close();
      throw error;
    }
    this.rt.log("info", "theater registered", {
      address: this.rt.advertisedAddress,
      pid: process.pid,
      mediator: mediator.lastMediator,
    });
    return { address: this.rt.advertisedAddress };
  }

  /**
   * Graceful stop: stop accepting peers, let every peer that connected to us confirm it sent its
   * last message, forward whatever is still pending, then close. Actors still hosted are dropped,
   * so the Mediator only asks once they have been migrated away.
   */
  async stop(): Promise<void> {
    if (this.rt.stopping) return this.stopped;
    await this.drainForStop();
    await this.finishStop();
  }

  /**
   * Test hook: dies the way a killed process does, as its peers see it. Every connection is cut at
   * once, nothing is flushed or handed over, and the theater never acts again.
   */
  simulateCrash(): void {
    const rt = this.rt;
    if (rt.crashed) return;
    rt.crashed = true;
    rt.stopping = true;
    rt.log("warn", "simulated crash");
    rt.mediator.stopProgress();
    rt.routing.stopTimers();
    rt.mediator.endReconnectPause();
    rt.cells.clearAllTimers();
    rt.cells.byUan.clear();
    rt.mailboxes.clear();
    this.server?.close();
    rt.routing.destroyAll("crashed");
    rt.mediator.channel?.destroy("crashed");
    rt.mediator.channel = null;
    this.resolveStopped();
  }

  private async drainForStop(): Promise<void> {
    const rt = this.rt;
    if (rt.stopping) return;
    rt.stopping = true;
    if (rt.cells.byUan.size > 0) rt.log("warn", "stopping with actors still hosted", { actors: rt.cells.byUan.size });
    for (const cell of rt.cells.byUan.values()) rt.mailboxes.relieve(cell);
    // Stop accepting peers; close()'s callback would wait for every open connection, so don't await it.
    this.server?.close();
    // Peers confirm on the same connection they delivered on, so after the acks nothing is in flight to us.
    await rt.routing.sayGoodbyeToIncoming();
    // Forward what is pending, then end our links. A link that never comes up hands its messages
    // back; they are routed afresh (through the Mediator), so settle and end once more.
    for (let round = 0; round < 3; round++) {
      await this.waitFor(() => rt.routing.settled, STOP_STEP_TIMEOUT_MS);
      await rt.routing.endLinks(STOP_STEP_TIMEOUT_MS);
      if (rt.routing.settled) break;
    }
    if (!rt.routing.settled)
      rt.log("error", "stopping with undeliverable messages", {
        actors: [...new Set([...rt.routing.parkedActors, ...rt.routing.resolvingActors])],
      });
    rt.mediator.flushProgress();
  }

  private async waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition() && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      if (this.rt.routing.parkedActors.length > 0) this.rt.routing.retryParked();
    }
  }

  private async finishStop(mediatorChannel: Channel | null = this.rt.mediator.channel): Promise<void> {
    const rt = this.rt;
    rt.mediator.stopProgress();
    rt.routing.stopTimers();
    rt.mediator.endReconnectPause();
    rt.cells.clearAllTimers();
    rt.routing.destroyIncoming("theater stopped");
    if (mediatorChannel) await withTimeout(mediatorChannel.end("theater stopped"), STOP_STEP_TIMEOUT_MS);
    rt.mediator.channel = null;
    rt.log("info", "theater stopped", { ...this.stats });
    this.resolveStopped();
  }
}
