/** Pure shaping of telemetry for the charts (unit tested). */

export interface ProgressSample {
  applicationId: string;
  at: Date;
  iteration: number;
}

export interface RatePoint {
  at: number;
  rate: number;
}

/**
 * Iterations per second between consecutive samples of each application. A counter that goes
 * backwards (application restarted) starts a new run instead of producing a negative rate.
 */
export function throughputSeries(samples: ProgressSample[]): { applicationId: string; points: RatePoint[] }[] {
  const byApp = new Map<string, ProgressSample[]>();
  for (const s of samples) byApp.set(s.applicationId, [...(byApp.get(s.applicationId) ?? []), s]);
  return [...byApp].map(([applicationId, list]) => {
    const sorted = [...list].sort((a, b) => a.at.getTime() - b.at.getTime());
    const points: RatePoint[] = [];
    for (let i = 1; i < sorted.length; i++) {
      const a = sorted[i - 1]!;
      const b = sorted[i]!;
      const dt = (b.at.getTime() - a.at.getTime()) / 1000;
      if (dt <= 0 || b.iteration < a.iteration) continue;
      points.push({ at: b.at.getTime(), rate: (b.iteration - a.iteration) / dt });
    }
    return { applicationId, points };
  });
}

/** Averages points into buckets of `bucketMs` so a long window stays a few hundred points. */
export function bucketRates(points: RatePoint[], bucketMs: number): RatePoint[] {
  const buckets = new Map<number, { sum: number; n: number }>();
  for (const p of points) {
    const k = Math.floor(p.at / bucketMs) * bucketMs;
    const b = buckets.get(k) ?? { sum: 0, n: 0 };
    buckets.set(k, { sum: b.sum + p.rate, n: b.n + 1 });
  }
  return [...buckets].sort((a, b) => a[0] - b[0]).map(([at, b]) => ({ at, rate: b.sum / b.n }));
}
