// `npm run bench -- <name>`: runs bench/<name>.ts, prints its figures beside the baseline it
// measured in the same run, and writes bench/results/<name>.json. Exit status 0 even when a
// goal is missed: goals are reported, not enforced.
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";

export interface Check {
  what: string;
  value: number;
  goal: number;
  better: "higher" | "lower";
}
export interface BenchResult {
  figures: Record<string, number | string>;
  checks: Check[];
}

const here = import.meta.dirname;
const available = readdirSync(here)
  .filter((f) => f.endsWith(".ts") && !["run.ts"].includes(f) && !f.endsWith(".d.ts"))
  .map((f) => f.replace(/\.ts$/, ""));
const name = process.argv[2];
if (!name || !available.includes(name)) {
  console.error(`usage: npm run bench -- <name>   (one of: ${available.join(", ")})`);
  process.exit(2);
}
const mod = (await import(path.join(here, `${name}.ts`))) as { run: () => Promise<BenchResult> };
const result = await mod.run();
mkdirSync(path.join(here, "results"), { recursive: true });
writeFileSync(path.join(here, "results", `${name}.json`), `${JSON.stringify({ name, ...result }, null, 2)}\n`);
console.log(`\n${name}`);
for (const [k, v] of Object.entries(result.figures))
  console.log(`  ${k.padEnd(44)} ${typeof v === "number" ? Number(v.toPrecision(4)) : v}`);
for (const c of result.checks) {
  const met = c.better === "higher" ? c.value >= c.goal : c.value <= c.goal;
  console.log(
    `  check: ${c.what}: ${Number(c.value.toPrecision(4))} (goal ${c.better === "higher" ? "≥" : "≤"} ${c.goal}) ${met ? "met" : "MISSED"}`,
  );
}
console.log(`  wrote bench/results/${name}.json`);
