import { readFileSync } from "node:fs";
import { cpuPercent } from "@malleo/core";
import { cpuSampleDownsample, cpuSampleInsertMany, type CpuSampleInput, type Db } from "@malleo/db";
import type { HostConnection } from "@malleo/hypervisor";
import type { Logger } from "./log";
import { Periodic } from "./periodic";

/** One VM's cumulative CPU time at one instant. */
export interface CpuReading {
  vmId: string;
  vcpus: number;
  cpuTimeNs: number;
  atMs: number;
}

const CLOCK_TICKS_PER_SECOND = 100; // Linux USER_HZ on every architecture Node runs on

/** utime + stime of a process in ns, from /proc/<pid>/stat; undefined when it is gone. */
export function processCpuTimeNs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the parenthesised command name (which may contain spaces).
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? (ticks * 1e9) / CLOCK_TICKS_PER_SECOND : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Reads every Malleo VM's CPU time on the connected hosts: libvirt's cumulative CPU time on
 * qemu hosts; on simulated hosts (whose test driver reports wall-clock time there) the CPU time
 * of the VM's local theater process, which is what the simulated VM actually spends.
 */
export async function readCpuTimes(
  hosts: ReadonlyMap<string, HostConnection>,
  theaterPid: (vmId: string) => number | undefined,
): Promise<CpuReading[]> {
  const readings: CpuReading[] = [];
  await Promise.all(
    [...hosts.values()].map(async (conn) => {
      let domains;
      try {
        domains = await conn.domainList({ managedOnly: true });
      } catch {
        return; // the reconciler reports the host; its VMs are unknown, not idle
      }
      const atMs = Date.now();
      for (const d of domains) {
        const vmId = d.metadata.vmId;
        if (!vmId || !d.active) continue;
        if (conn.kind === "qemu") {
          readings.push({ vmId, vcpus: d.vcpus, cpuTimeNs: d.cpuTimeNs, atMs });
        } else {
          const pid = theaterPid(vmId);
          const ns = pid === undefined ? undefined : processCpuTimeNs(pid);
          if (ns !== undefined) readings.push({ vmId, vcpus: d.vcpus, cpuTimeNs: ns, atMs });
        }
      }
    }),
  );
  return readings;
}

/**
 * Samples every VM's CPU usage at a fixed interval into `vm_cpu_samples` (percent of the VM's
 * vCPUs), keeps raw samples for `rawRetentionMs` and folds older ones into per-minute rows.
 */
export class CpuSampler {
  private previous = new Map<string, CpuReading>();
  private lastDownsampleMs = 0;
  private readonly loop: Periodic;

  constructor(
    private readonly db: Db,
    private readonly read: () => Promise<CpuReading[]>,
    private readonly opts: { intervalMs: number; rawRetentionMs?: number; log: Logger },
  ) {
    this.loop = new Periodic(() => this.sampleOnce(), {
      intervalMs: opts.intervalMs,
      log: opts.log,
      failure: "cpu sampling failed",
    });
  }

  /** Takes one reading and stores a sample per VM that also has a previous reading. */
  async sampleOnce(): Promise<CpuSampleInput[]> {
    const readings = await this.read();
    const samples: CpuSampleInput[] = [];
    const next = new Map<string, CpuReading>();
    for (const r of readings) {
      next.set(r.vmId, r);
      const prev = this.previous.get(r.vmId);
      const pct = prev ? cpuPercent(prev, r, r.vcpus) : undefined;
      if (pct !== undefined) samples.push({ vmId: r.vmId, at: new Date(r.atMs), cpuPercent: pct });
    }
    this.previous = next;
    if (samples.length) await cpuSampleInsertMany(this.db, samples);
    const retention = this.opts.rawRetentionMs ?? 3_600_000;
    if (Date.now() - this.lastDownsampleMs > 60_000) {
      this.lastDownsampleMs = Date.now();
      await cpuSampleDownsample(this.db, new Date(Date.now() - retention));
    }
    return samples;
  }

  start(): void {
    this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }
}
