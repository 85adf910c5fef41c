import type { Logger } from "./log";

/**
 * Runs `work` every `intervalMs`, each run starting after the previous one ended (never two at
 * once); a failed run is logged and the next one still happens. `stop` waits for a run in flight.
 */
export class Periodic {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly work: () => Promise<unknown>,
    private readonly opts: { intervalMs: number; log: Logger; failure: string },
  ) {}

  start(): void {
    const tick = () => {
      this.running = this.work()
        .then(() => undefined)
        .catch((e: Error) => this.opts.log({ event: this.opts.failure, error: e.message }))
        .finally(() => {
          if (this.timer !== undefined) this.timer = setTimeout(tick, this.opts.intervalMs);
        });
    };
    this.timer = setTimeout(tick, this.opts.intervalMs);
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
