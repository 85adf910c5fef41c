// heat-actors: iterations per second of the heat-diffusion actors, on one theater process
// against the sequential TypeScript kernel (same grid, same iterations, in this process), and
// on two theater processes (half the slabs each, the machine's two cores) against one. Every
// run's grid must be bit-identical to the sequential one.
import { loadavg } from "node:os";
import { heatActorSpecs, heatAssemble, heatSequential, type HeatConfig } from "@malleo/examples";
import { BenchLab, waitUntil } from "./lib/local-theaters";
import type { BenchResult } from "./run";

const SIZE = Number(process.env.HEAT_BENCH_SIZE ?? 1024);
const ITERATIONS = Number(process.env.HEAT_BENCH_ITERATIONS ?? 400);
const ACTORS = Number(process.env.HEAT_BENCH_ACTORS ?? 8);
const ROUNDS = Number(process.env.HEAT_BENCH_ROUNDS ?? 3);

function sameBits(a: Float64Array, b: Float64Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/** Runs the actors on `theaters` VMs (contiguous slabs per VM); returns iterations per second and the grid. */
async function runActors(theaters: number, expected: Float64Array): Promise<{ ips: number; identical: boolean }> {
  const vmIds = Array.from({ length: theaters }, (_, index) => `heat-bench-${theaters}-${index}`);
  const lab = new BenchLab();
  await lab.start(vmIds);
  try {
    const cfg: HeatConfig = { width: SIZE, height: SIZE, actors: ACTORS, maxIterations: ITERATIONS, iterationDelayMs: 0 };
    const specs = heatActorSpecs(`heat-bench-${theaters}`, cfg);
    const uans = specs.map((spec) => spec.uan);
    const finished = new Set<string>();
    let finishedAt = 0;
    lab.onProgress((event) => {
      if (event.iteration === ITERATIONS && !finished.has(event.uan)) {
        finished.add(event.uan);
        if (finished.size === uans.length) finishedAt = performance.now();
      }
    });
    const perVm = Math.ceil(specs.length / theaters);
    // Warm each theater's JIT on the same kernel first, as the sequential baseline is warmed.
    const warmCfg: HeatConfig = { ...cfg, maxIterations: Math.max(2, Math.floor(ITERATIONS / 20)) };
    const warmSpecs = heatActorSpecs(`heat-warm-${theaters}`, warmCfg);
    await Promise.all(
      vmIds.map((vmId, index) => lab.mediator.spawnActors(vmId, warmSpecs.slice(index * perVm, (index + 1) * perVm))),
    );
    await waitUntil(
      "the warm-up run",
      async () =>
        [...(await lab.mediator.collectStates(warmSpecs.map((spec) => spec.uan))).values()].every(
          (state) => (state as { iteration: number }).iteration === warmCfg.maxIterations,
        ),
      600_000,
      100,
    );
    // Created on every VM first, then started together: spawn starts each batch's actors at once.
    const startedAt = performance.now();
    await Promise.all(
      vmIds.map((vmId, index) => lab.mediator.spawnActors(vmId, specs.slice(index * perVm, (index + 1) * perVm))),
    );
    await waitUntil("every slab to finish", () => finished.size === uans.length, 600_000);
    // Progress is reported every 200 ms at most: subtract half a period as the expected lag.
    const seconds = (finishedAt - startedAt - 100) / 1000;
    const grid = heatAssemble(cfg, await lab.mediator.collectStates(uans));
    return { ips: ITERATIONS / seconds, identical: sameBits(grid, expected) };
  } finally {
    await lab.stop();
  }
}

export async function run(): Promise<BenchResult> {
  heatSequential(SIZE, SIZE, Math.max(2, ITERATIONS / 20)); // warm the JIT
  const loadBefore = loadavg()[0]!;
  // The machine is shared: interleave the three measurements and keep the best of each.
  let sequentialIps = 0;
  const one = { ips: 0, identical: true };
  const two = { ips: 0, identical: true };
  let expected: Float64Array = new Float64Array(0);
  for (let round = 0; round < ROUNDS; round++) {
    const t0 = performance.now();
    expected = heatSequential(SIZE, SIZE, ITERATIONS);
    sequentialIps = Math.max(sequentialIps, ITERATIONS / ((performance.now() - t0) / 1000));
    const oneRun = await runActors(1, expected);
    one.ips = Math.max(one.ips, oneRun.ips);
    one.identical &&= oneRun.identical;
    const twoRun = await runActors(2, expected);
    two.ips = Math.max(two.ips, twoRun.ips);
    two.identical &&= twoRun.identical;
  }
  return {
    figures: {
      "machine load average (1 min) at start, 2 cores": loadBefore,
      grid: `${SIZE}×${SIZE}, ${ACTORS} actors, ${ITERATIONS} iterations, best of ${ROUNDS} interleaved rounds`,
      "sequential TS kernel iterations/s (baseline)": sequentialIps,
      "one theater iterations/s": one.ips,
      "two theaters iterations/s": two.ips,
      "one theater / sequential": one.ips / sequentialIps,
      "two theaters / one theater": two.ips / one.ips,
      "grids bit-identical to sequential": String(one.identical && two.identical),
    },
    checks: [
      { what: "one theater / sequential TS kernel", value: one.ips / sequentialIps, goal: 0.9, better: "higher" },
      { what: "two theaters / one theater", value: two.ips / one.ips, goal: 1.6, better: "higher" },
    ],
  };
}
