// `npm run test:hostile` (and the `hostile` phase of `npm test`): a seeded fuzzer against the
// Mediator and a theater's peer port during a split and a merge (scripts/hostile/frames), and a
// table of hostile API inputs against a real Postgres (scripts/hostile/api). Ends with one line:
//   hostile: N inputs, N refused cleanly, 0 server errors; frames: N, worker restarts: 0
// and writes MALLEO_HOSTILE_REPORT (default .data/test-reports/hostile.json) for scripts/test.ts.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";

const root = path.resolve(import.meta.dirname, "..");
const reports = path.join(root, ".data/test-reports");
const report = process.env.MALLEO_HOSTILE_REPORT ?? path.join(reports, "hostile.json");
mkdirSync(reports, { recursive: true });
const parts = { frames: path.join(reports, "hostile-frames.json"), api: path.join(reports, "hostile-api.json") };
for (const file of Object.values(parts)) rmSync(file, { force: true });
const vitestReport = path.join(reports, "hostile-vitest.json");

const started = Date.now();
const run = spawnSync(
  process.execPath,
  [
    path.join(root, "node_modules/vitest/vitest.mjs"),
    "run",
    "--project",
    "hostile",
    "--reporter=default",
    "--reporter=json",
    `--outputFile.json=${vitestReport}`,
  ],
  { cwd: root, stdio: "inherit", env: { ...process.env, MALLEO_HOSTILE_REPORT_DIR: reports } },
);

const read = <T>(file: string): T | undefined => (existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as T) : undefined);
const frames = read<{ frames: number; workerRestarts: number; theatersLost: number; seed: number }>(parts.frames);
const api = read<{ inputs: number; refusedCleanly: number; serverErrors: number }>(parts.api);
const tests = read<{ numTotalTests?: number; numPassedTests?: number }>(vitestReport);
const scenarios = tests?.numTotalTests ?? 2;
const passed = run.status === 0 ? (tests?.numPassedTests ?? 0) : Math.min(tests?.numPassedTests ?? 0, scenarios - 1);
const ok =
  run.status === 0 &&
  frames !== undefined &&
  api !== undefined &&
  api.serverErrors === 0 &&
  api.refusedCleanly === api.inputs &&
  frames.workerRestarts === 0 &&
  frames.theatersLost === 0;
const line =
  `hostile: ${api?.inputs ?? 0} inputs, ${api?.refusedCleanly ?? 0} refused cleanly, ${api?.serverErrors ?? "?"} server errors; ` +
  `frames: ${frames?.frames ?? 0}, worker restarts: ${frames ? frames.workerRestarts : "?"}`;
writeFileSync(
  report,
  JSON.stringify({
    scenarios,
    passed: ok ? scenarios : Math.min(passed, scenarios - 1),
    seconds: (Date.now() - started) / 1000,
    frames,
    api,
    line,
  }),
);
process.stdout.write(`${line}\n`);
process.exit(ok ? 0 : 1);
