/**
 * When this theater's actors made progress, at millisecond resolution, for the last ~131 s: one
 * bit per millisecond in a ring. The worker unions the windows of every theater of an
 * application to find how long the application as a whole made no progress (its pause).
 */
const RING_BITS = 1 << 17;

/** Wall-clock milliseconds with sub-millisecond precision (the same clock on every local theater). */
export function nowEpochMs(): number {
  return performance.timeOrigin + performance.now();
}

export interface ActivityWindow {
  /** Epoch millisecond of the first bit. */
  startMs: number;
  /** Bit i (LSB first within each byte) set: progress in millisecond startMs + i. */
  bits: Uint8Array;
  length: number;
}

export class ActivityLog {
  private readonly ring = new Uint8Array(RING_BITS / 8);
  private last = -Infinity;

  mark(atMs = nowEpochMs()): void {
    const bucket = Math.floor(atMs);
    if (bucket > this.last) {
      // Buckets between the last mark and this one saw nothing: clear what an earlier lap left.
      if (bucket - this.last >= RING_BITS) this.ring.fill(0);
      else for (let b = this.last + 1; b < bucket; b++) this.clear(b);
      this.clear(bucket);
      this.last = bucket;
    }
    if (bucket <= this.last - RING_BITS) return; // too old to record
    const i = ((bucket % RING_BITS) + RING_BITS) % RING_BITS;
    this.ring[i >> 3]! |= 1 << (i & 7);
  }

  private clear(bucket: number): void {
    const i = ((bucket % RING_BITS) + RING_BITS) % RING_BITS;
    this.ring[i >> 3]! &= ~(1 << (i & 7));
  }

  /** The bits of [fromMs, toMs), at most the ring's length; milliseconds not recorded read as idle. */
  window(fromMs: number, toMs: number): ActivityWindow {
    const start = Math.floor(fromMs);
    const length = Math.max(0, Math.min(RING_BITS, Math.ceil(toMs) - start));
    const bits = new Uint8Array(Math.ceil(length / 8));
    for (let k = 0; k < length; k++) {
      const bucket = start + k;
      if (bucket > this.last || bucket <= this.last - RING_BITS) continue;
      const i = ((bucket % RING_BITS) + RING_BITS) % RING_BITS;
      if (this.ring[i >> 3]! & (1 << (i & 7))) bits[k >> 3]! |= 1 << (k & 7);
    }
    return { startMs: start, bits, length };
  }
}
