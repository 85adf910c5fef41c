import { RequestTimeoutError, isNameList, isRecord, type PrepareReply } from "@malleo/actors";
import { checkedReply, type MediatorRuntime } from "./mediator-runtime";

interface ReadyWaiter {
  vmId: string;
  waitingFor: Set<string>;
  ready: Set<string>;
  wake(): void;
  fail(error: Error): void;
}

/**
 * The ready barrier: asks actors to hold at their next safe point (`prepare`), collects the
 * theaters' `held` reports until every one held or time ran out, and lets them go (`resume`).
 */
export class ReadyBarrier {
  private readonly waiters = new Set<ReadyWaiter>();

  constructor(private readonly rt: MediatorRuntime) {}

  /**
   * Asks the actors to hold at their next safe point and waits until they all do or `timeoutMs`
   * passes. Actors that are not on this VM are reported not ready. They stay held until `resume`.
   */
  async awaitReady(vmId: string, uans: string[] | "all", timeoutMs: number): Promise<{ ready: string[]; notReady: string[] }> {
    const { registry, directory } = this.rt;
    const record = registry.connected(vmId);
    const requested = uans === "all" ? directory.listActors(vmId).map((actor) => actor.uan) : [...uans];
    const onVm = requested.filter((uan) => directory.get(uan)?.vmId === vmId);
    const ready = new Set<string>();
    const outcome = () => ({
      ready: requested.filter((uan) => ready.has(uan)),
      notReady: requested.filter((uan) => !ready.has(uan)),
    });
    if (onVm.length === 0) return outcome();

    let wake: () => void = () => {};
    let fail: (error: Error) => void = () => {};
    const settled = new Promise<void>((resolve, reject) => {
      wake = resolve;
      fail = reject;
    });
    settled.catch(() => {}); // observed below; this only keeps an early failure from going unhandled
    const waiter: ReadyWaiter = { vmId, waitingFor: new Set(onVm), ready, wake, fail };
    this.waiters.add(waiter);
    const timer = setTimeout(wake, timeoutMs);
    try {
      try {
        const reply = checkedReply<PrepareReply>(
          this.rt,
          record,
          "prepare",
          await record.channel.request({ type: "prepare", uans: onVm }, timeoutMs),
          (r) => isRecord(r) && isNameList(r.held) && isNameList(r.unknown),
        );
        for (const uan of reply.unknown) waiter.waitingFor.delete(uan);
        this.markReady(vmId, reply.held);
        if (waiter.waitingFor.size === 0) wake();
      } catch (error) {
        if (!(error instanceof RequestTimeoutError)) throw error; // out of time: nobody is ready
      }
      await settled;
    } finally {
      clearTimeout(timer);
      this.waiters.delete(waiter);
    }
    const result = outcome();
    this.rt.log(result.notReady.length === 0 ? "info" : "warn", "ready barrier finished", {
      vmId,
      ready: result.ready.length,
      notReady: result.notReady.length,
    });
    return result;
  }

  /** A theater's `held` report (or its `prepare` reply): these actors of `vmId` hold now. */
  markReady(vmId: string, uans: string[]): void {
    for (const waiter of this.waiters) {
      if (waiter.vmId !== vmId) continue;
      for (const uan of uans) {
        if (!waiter.waitingFor.delete(uan)) continue;
        waiter.ready.add(uan);
      }
      if (waiter.waitingFor.size === 0) waiter.wake();
    }
  }

  async resume(vmId: string, uans?: string[]): Promise<void> {
    const record = this.rt.registry.connected(vmId);
    await record.channel.request({ type: "resume", uans: uans ?? "all" }, this.rt.requestTimeoutMs);
  }

  /** The theater of `vmId` disconnected: its barriers fail. */
  theaterGone(vmId: string, error: Error): void {
    for (const waiter of this.waiters) if (waiter.vmId === vmId) waiter.fail(error);
  }

  /** The Mediator stops: every barrier fails. */
  failAll(error: Error): void {
    for (const waiter of this.waiters) waiter.fail(error);
  }
}
