// `npm run bench -- theater-start`: how local theaters start. N starts of a theater under tsx (the
// baseline) and N of its build (scripts/build-entry.ts), interleaved in one run, each timed from
// spawn to its registration with an in-process Mediator, with the child's user+system CPU until
// then (/proc/<pid>/stat). MALLEO_BENCH_STARTS sets N (default 6).
import { readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { THEATER_BUILD_ENV } from "@malleo/actors";
import { TheaterLab } from "../packages/mediator/src/testing";
import { buildTheater } from "../scripts/build-entry";
import type { BenchResult } from "./run";

const root = path.resolve(import.meta.dirname, "..");
const n = Number(process.env.MALLEO_BENCH_STARTS ?? 6);
const ticks = 100; // USER_HZ on Linux

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / ticks; // utime, stime
}

export async function run(): Promise<BenchResult> {
  const buildDir = path.join(root, ".data/build", `figures-${process.pid}`);
  const t0 = Date.now();
  const build = await buildTheater(path.join(buildDir, "theater.mjs"));
  const buildS = (Date.now() - t0) / 1000;
  const lab = new TheaterLab();
  await lab.start();
  const figures: Record<string, { wall: number[]; cpu: number[] }> = { tsx: { wall: [], cpu: [] }, build: { wall: [], cpu: [] } };
  try {
    for (let i = 0; i < n; i++) {
      for (const how of ["tsx", "build"] as const) {
        if (how === "tsx") delete process.env[THEATER_BUILD_ENV];
        else process.env[THEATER_BUILD_ENV] = build;
        const vmId = `figures-${how}-${i}`;
        const started = process.hrtime.bigint();
        const theater = lab.spawn(vmId);
        await lab.mediator.awaitTheater(vmId, 60_000);
        figures[how]!.wall.push(Number(process.hrtime.bigint() - started) / 1e9);
        figures[how]!.cpu.push(cpuSeconds(theater.pid));
        theater.kill();
        await theater.exited;
      }
    }
  } finally {
    await lab.cleanup();
    rmSync(buildDir, { recursive: true, force: true });
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  for (const [how, f] of Object.entries(figures))
    console.log(
      `${how.padEnd(5)} wall [${f.wall.map((x) => x.toFixed(2)).join(" ")}] s, cpu [${f.cpu.map((x) => x.toFixed(2)).join(" ")}] s`,
    );
  const wall = median(figures.build!.wall) / median(figures.tsx!.wall);
  const cpu = median(figures.build!.cpu) / median(figures.tsx!.cpu);
  return {
    figures: {
      starts: n,
      "build the theater (s)": buildS,
      "tsx (baseline): start to registration, median (s)": median(figures.tsx!.wall),
      "tsx (baseline): CPU until registered, median (s)": median(figures.tsx!.cpu),
      "build: start to registration, median (s)": median(figures.build!.wall),
      "build: CPU until registered, median (s)": median(figures.build!.cpu),
    },
    checks: [
      { what: "start to registration, build / tsx", value: wall, goal: 0.5, better: "lower" },
      { what: "CPU until registered, build / tsx", value: cpu, goal: 0.5, better: "lower" },
    ],
  };
}
