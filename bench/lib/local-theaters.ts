// Benchmarks run the Mediator in this process and each theater as its own process (one per
// simulated VM), exactly as the worker does on simulated hosts.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { spawnLocalTheater, type LocalTheaterProcess } from "@malleo/actors";
import { Mediator, type ProgressEvent } from "@malleo/mediator";
import { waitUntil as waitUntilShared } from "@malleo/testing";

export class BenchLab {
  readonly mediator = new Mediator({ migrationTimeoutMs: 120_000, requestTimeoutMs: 120_000 });
  readonly logDir = mkdtempSync(path.join(tmpdir(), "malleo-bench-"));
  private readonly processes: LocalTheaterProcess[] = [];
  private address = "";
  private readonly listeners = new Set<(event: ProgressEvent) => void>();

  async start(vmIds: string[]): Promise<void> {
    this.address = (await this.mediator.start()).address;
    this.mediator.onProgress((event) => {
      for (const listener of this.listeners) listener(event);
    });
    for (const vmId of vmIds) {
      this.mediator.expectTheater(vmId, `bench-${vmId}`);
      this.processes.push(
        spawnLocalTheater({
          vmId,
          mediator: this.address,
          secret: `bench-${vmId}`,
          logFile: path.join(this.logDir, `${vmId}.log`),
        }),
      );
    }
    await Promise.all(vmIds.map((vmId) => this.mediator.awaitTheater(vmId, 30_000)));
  }

  onProgress(listener: (event: ProgressEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async stop(): Promise<void> {
    await this.mediator.stop();
    for (const theater of this.processes) theater.kill();
    await Promise.all(this.processes.map((theater) => theater.exited));
    rmSync(this.logDir, { recursive: true, force: true });
  }
}

export function waitUntil(what: string, condition: () => boolean | Promise<boolean>, timeoutMs: number, pollMs = 20) {
  return waitUntilShared(what, condition, { timeoutMs, intervalMs: pollMs });
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
