// heat-kernel: cell updates per second of the TypeScript Jacobi kernel against the same kernel
// in C (gcc -O3, built here), at 256² and 4096². Both start from the same grid and must end on
// the same checksum, so the comparison is of identical arithmetic.
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { heatInitialGrid, heatStep } from "@malleo/examples";
import type { BenchResult } from "./run";

const C_SOURCE = String.raw`
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
static double initial(int w, int h, int r, int c) {
  if (r == 0) return 100;
  if (r == h - 1 || c == 0 || c == w - 1) return 0;
  return (double)((r * 7 + c * 13) % 17) / 17;
}
int main(int argc, char **argv) {
  int w = atoi(argv[1]), h = atoi(argv[2]), iters = atoi(argv[3]);
  double *cur = malloc(sizeof(double) * w * h), *nxt = malloc(sizeof(double) * w * h);
  for (int r = 0; r < h; r++) for (int c = 0; c < w; c++) cur[r * w + c] = initial(w, h, r, c);
  struct timespec t0, t1; clock_gettime(CLOCK_MONOTONIC, &t0);
  for (int it = 0; it < iters; it++) {
    memcpy(nxt, cur, sizeof(double) * w); memcpy(nxt + (h - 1) * w, cur + (h - 1) * w, sizeof(double) * w);
    for (int r = 1; r < h - 1; r++) {
      const double *a = cur + (r - 1) * w, *m = cur + r * w, *b = cur + (r + 1) * w; double *o = nxt + r * w;
      o[0] = m[0]; o[w - 1] = m[w - 1];
      for (int c = 1; c < w - 1; c++) o[c] = 0.25 * (a[c] + b[c] + m[c - 1] + m[c + 1]);
    }
    double *t = cur; cur = nxt; nxt = t;
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double sum = 0; for (long i = 0; i < (long)w * h; i++) sum += cur[i];
  printf("%.9f %.17g\n", (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9, sum);
  return 0;
}`;

function buildC(): string {
  const dir = path.join(import.meta.dirname, "build");
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "heat.c"), C_SOURCE);
  const exe = path.join(dir, "heat");
  execFileSync("gcc", ["-O3", "-o", exe, path.join(dir, "heat.c")]);
  return exe;
}

const checksum = (g: Float64Array) => g.reduce((s, v) => s + v, 0);

/** Times the kernel the actors run (heatStep → relaxRow), grid set-up excluded as in the C program. */
function timeTypeScript(size: number, iterations: number): { seconds: number; grid: Float64Array } {
  let current: Float64Array = heatInitialGrid(size, size);
  let next: Float64Array = new Float64Array(current.length);
  const t0 = performance.now();
  for (let i = 0; i < iterations; i++) {
    heatStep(current, next, size, size);
    [current, next] = [next, current];
  }
  return { seconds: (performance.now() - t0) / 1000, grid: current };
}

function measure(exe: string, size: number, iterations: number) {
  const cells = (size - 2) * (size - 2) * iterations;
  timeTypeScript(size, Math.max(2, Math.floor(iterations / 4))); // warm the JIT on this size
  const ts = timeTypeScript(size, iterations);
  const [cSeconds, cSum] = execFileSync(exe, [String(size), String(size), String(iterations)], { encoding: "utf8" })
    .trim()
    .split(" ");
  const identical = Number(cSum) === checksum(ts.grid);
  return { ts: cells / ts.seconds, c: cells / Number(cSeconds), identical };
}

export async function run(): Promise<BenchResult> {
  const exe = buildC();
  const small = measure(exe, 256, 400);
  const large = measure(exe, 4096, 20);
  return {
    figures: {
      "ts cell updates/s at 256²": small.ts,
      "c -O3 cell updates/s at 256² (baseline)": small.c,
      "ts/c at 256²": small.ts / small.c,
      "ts cell updates/s at 4096²": large.ts,
      "c -O3 cell updates/s at 4096² (baseline)": large.c,
      "ts/c at 4096²": large.ts / large.c,
      "same checksum as C": String(small.identical && large.identical),
    },
    checks: [{ what: "TypeScript / C cell updates per second at 4096²", value: large.ts / large.c, goal: 0.5, better: "higher" }],
  };
}
