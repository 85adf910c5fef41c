// Figures for how theaters start: N starts of a local theater under tsx and N of the build
// (scripts/build-entry.ts), interleaved in one run, each timed from spawn to its registration with
// an in-process Mediator, with the child's user+system CPU until then (/proc/<pid>/stat).
//   npx tsx scripts/theater-start-figures.ts [N]
import { readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { THEATER_BUILD_ENV } from "@malleo/actors";
import { TheaterLab } from "../packages/mediator/src/testing";
import { buildTheater } from "./build-entry";

const root = path.resolve(import.meta.dirname, "..");
const n = Number(process.argv[2] ?? 6);
const ticks = 100; // USER_HZ on Linux

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / ticks; // utime, stime
}

async function main(): Promise<void> {
  const buildDir = path.join(root, ".data/build", `figures-${process.pid}`);
  const t0 = Date.now();
  const build = await buildTheater(path.join(buildDir, "theater.mjs"));
  console.log(`built the theater in ${((Date.now() - t0) / 1000).toFixed(2)} s`);
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
      `${how.padEnd(5)} wall median ${median(f.wall).toFixed(2)} s [${f.wall.map((x) => x.toFixed(2)).join(" ")}], ` +
        `cpu median ${median(f.cpu).toFixed(2)} s [${f.cpu.map((x) => x.toFixed(2)).join(" ")}]`,
    );
  console.log(
    `build/tsx: wall ${(median(figures.build!.wall) / median(figures.tsx!.wall)).toFixed(2)}, cpu ${(median(figures.build!.cpu) / median(figures.tsx!.cpu)).toFixed(2)}`,
  );
}

await main();
