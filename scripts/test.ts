// `npm test`: the whole suite — typecheck, lint, unit, integration (real Postgres, libvirt test
// driver, theater processes), hostile (fuzzed frames, hostile API inputs), chaos and e2e (Playwright in Debian's Chromium) — then one summary line
// counting tests (typecheck and lint count as one check each).
// `npm test -- unit integration` runs only the phases named.
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";

const root = path.resolve(import.meta.dirname, "..");
const reports = path.join(root, ".data/test-reports");
const bin = (p: string) => path.join(root, "node_modules", p);
const vitest = (project: string) => [
  bin("vitest/vitest.mjs"),
  "run",
  "--project",
  project,
  "--reporter=default",
  "--reporter=json",
  `--outputFile.json=${path.join(reports, `${project}.json`)}`,
];

interface Counts {
  passed: number;
  failed: number;
  skipped: number;
}
type Phase = {
  name: string;
  args: string[];
  env?: Record<string, string>;
  counts?: () => Counts;
  /** The failed tests' names and first error lines, repeated at the end of the run (CI shows its tail). */
  failures?: () => string[];
};

/** An error's first lines (Expected/Received/the call log's start), colours removed, for the summary. */
const errorLines = (text: string | undefined, max = 8): string => {
  const lines = (text ?? "")
    .replace(new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g"), "") // colours a reporter left in
    .split("\n")
    .map((l) => l.trimEnd())
    .filter((l) => l.trim() !== "")
    .map((l) => l.slice(0, 300));
  const [first = "", ...rest] = lines;
  const more = rest.slice(0, max - 1).map((l) => `\n      ${l.trim()}`);
  return `${first.trim()}${more.join("")}${rest.length > max - 1 ? "\n      …" : ""}`;
};

function vitestFailures(project: string): () => string[] {
  return () => {
    const r = JSON.parse(readFileSync(path.join(reports, `${project}.json`), "utf8")) as {
      testResults?: Array<{
        name: string;
        status: string;
        message?: string;
        assertionResults?: Array<{ status: string; fullName: string; failureMessages?: string[] }>;
      }>;
    };
    const out: string[] = [];
    for (const file of r.testResults ?? []) {
      const rel = path.relative(root, file.name);
      const failed = (file.assertionResults ?? []).filter((t) => t.status === "failed");
      for (const t of failed) out.push(`${rel} > ${t.fullName}: ${errorLines(t.failureMessages?.[0])}`);
      if (failed.length === 0 && file.status === "failed") out.push(`${rel}: ${errorLines(file.message)}`);
    }
    return out;
  };
}

interface PlaywrightSuite {
  title: string;
  suites?: PlaywrightSuite[];
  specs?: Array<{
    title: string;
    file: string;
    line: number;
    tests: Array<{
      projectName: string;
      status: string;
      results: Array<{ error?: { message?: string; location?: { file: string; line: number } } }>;
    }>;
  }>;
}

function playwrightFailures(): string[] {
  const r = JSON.parse(readFileSync(path.join(reports, "e2e.json"), "utf8")) as { suites?: PlaywrightSuite[] };
  const out: string[] = [];
  const walk = (suite: PlaywrightSuite) => {
    for (const spec of suite.specs ?? [])
      for (const t of spec.tests)
        if (t.status === "unexpected" || t.status === "flaky") {
          const error = t.results.find((x) => x.error)?.error;
          const at = error?.location ? ` (at ${path.relative(root, error.location.file)}:${error.location.line})` : "";
          out.push(
            `[${t.projectName}] ${spec.file}:${spec.line} ${spec.title}${t.status === "flaky" ? " (flaky: passed on retry)" : ""}${at}: ${errorLines(error?.message)}`,
          );
        }
    for (const s of suite.suites ?? []) walk(s);
  };
  for (const s of r.suites ?? []) walk(s);
  return out;
}

function vitestCounts(project: string): () => Counts {
  return () => {
    const r = JSON.parse(readFileSync(path.join(reports, `${project}.json`), "utf8")) as Record<string, number>;
    return {
      passed: r.numPassedTests ?? 0,
      failed: (r.numFailedTests ?? 0) + (r.numFailedTestSuites ?? 0),
      skipped: (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0),
    };
  };
}

const phases: Phase[] = [
  { name: "typecheck", args: [bin("typescript/bin/tsc"), "-p", "tsconfig.json", "--noEmit"] },
  { name: "lint", args: [bin("eslint/bin/eslint.js"), "--max-warnings=0", "."] },
  { name: "format", args: [bin("prettier/bin/prettier.cjs"), "--check", "--log-level=warn", "."] },
  { name: "unit", args: vitest("unit"), counts: vitestCounts("unit"), failures: vitestFailures("unit") },
  {
    name: "integration",
    args: vitest("integration"),
    counts: vitestCounts("integration"),
    failures: vitestFailures("integration"),
  },
  {
    // Fuzzed frames at the Mediator and a peer port during a split and a merge, and a table of
    // hostile API inputs (scripts/hostile.ts); its last line sums them up.
    name: "hostile",
    args: ["--import", "tsx", path.join(root, "scripts/hostile.ts")],
    env: { MALLEO_HOSTILE_REPORT: path.join(reports, "hostile.json") },
    counts: () => {
      const r = JSON.parse(readFileSync(path.join(reports, "hostile.json"), "utf8")) as { scenarios: number; passed: number };
      return { passed: r.passed, failed: r.scenarios - r.passed, skipped: 0 };
    },
  },
  {
    name: "chaos",
    args: ["--import", "tsx", path.join(root, "scripts/chaos.ts")],
    env: { MALLEO_CHAOS_REPORT: path.join(reports, "chaos.json") },
    counts: () => {
      const r = JSON.parse(readFileSync(path.join(reports, "chaos.json"), "utf8")) as { scenarios: number; passed: number };
      return { passed: r.passed, failed: r.scenarios - r.passed, skipped: 0 };
    },
    failures: () =>
      (JSON.parse(readFileSync(path.join(reports, "chaos.json"), "utf8")) as { failures?: string[] }).failures ?? [],
  },
  {
    name: "e2e",
    args: [bin("@playwright/test/cli.js"), "test", "--reporter=list,json"],
    env: { PLAYWRIGHT_JSON_OUTPUT_NAME: path.join(reports, "e2e.json") },
    counts: () => {
      const s = (JSON.parse(readFileSync(path.join(reports, "e2e.json"), "utf8")) as { stats: Record<string, number> }).stats;
      return { passed: (s.expected ?? 0) + (s.flaky ?? 0), failed: s.unexpected ?? 0, skipped: s.skipped ?? 0 };
    },
    failures: playwrightFailures,
  },
  {
    // Real guests under libvirt's qemu driver (about 2 minutes); where libvirtd cannot run it
    // prints `skipped: <reason>` and its test counts as skipped, not passed.
    name: "guests",
    args: [
      bin("vitest/vitest.mjs"),
      "run",
      "--config",
      "scripts/guest/vitest.config.ts",
      "--reporter=default",
      "--reporter=json",
      `--outputFile.json=${path.join(reports, "guests.json")}`,
    ],
    counts: vitestCounts("guests"),
    failures: vitestFailures("guests"),
  },
];

const only = process.argv.slice(2);
const total: Counts = { passed: 0, failed: 0, skipped: 0 };
const failedPhases: string[] = [];
const failedTests: string[] = [];
/** Each phase's wall time, repeated in the summary: the budget is the whole suite under 30 minutes. */
const phaseTimes: string[] = [];
const started = Date.now();
rmSync(reports, { recursive: true, force: true });
mkdirSync(reports, { recursive: true });
for (const phase of phases) {
  if (only.length > 0 && !only.includes(phase.name)) continue;
  const t0 = Date.now();
  process.stdout.write(`\n=== ${phase.name} ===\n`);
  const r = spawnSync(process.execPath, phase.args, {
    cwd: root,
    stdio: "inherit",
    env: { ...process.env, FORCE_COLOR: "0", ...phase.env },
  });
  const exitedOk = r.status === 0;
  let counts: Counts = exitedOk ? { passed: 1, failed: 0, skipped: 0 } : { passed: 0, failed: 1, skipped: 0 };
  if (phase.counts) {
    try {
      counts = phase.counts();
      if (!exitedOk && counts.failed === 0) counts.failed = 1; // the runner failed outside any test
    } catch {
      // no report: the runner died before writing it
    }
  }
  // A failed test fails its phase even when its runner exited 0 (seen once with the guests runner).
  const ok = exitedOk && counts.failed === 0;
  total.passed += counts.passed;
  total.failed += counts.failed;
  total.skipped += counts.skipped;
  if (!ok) failedPhases.push(phase.name);
  if (phase.failures) {
    try {
      for (const f of phase.failures()) failedTests.push(`${phase.name}: ${f}`);
    } catch {
      // no report to read: the phase's own output above says why
    }
  }
  phaseTimes.push(`${phase.name} ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  process.stdout.write(
    `=== ${phase.name}: ${ok ? "passed" : "FAILED"} in ${((Date.now() - t0) / 1000).toFixed(1)} s (${counts.passed} passed, ${counts.failed} failed) ===\n`,
  );
}
if (failedTests.length > 0) {
  process.stdout.write(`\nfailed or flaky tests:\n`);
  for (const f of failedTests.slice(0, 20)) process.stdout.write(`  ${f}\n`);
  if (failedTests.length > 20) process.stdout.write(`  … and ${failedTests.length - 20} more\n`);
}
process.stdout.write(`\nphases: ${phaseTimes.join(", ")}`);
process.stdout.write(`\nsuite finished in ${((Date.now() - started) / 1000).toFixed(0)} s`);
process.stdout.write(failedPhases.length ? `; failed phases: ${failedPhases.join(", ")}\n` : "\n");
process.stdout.write(
  `tests: ${total.passed} passed, ${total.failed} failed${total.skipped ? `, ${total.skipped} skipped` : ""}\n`,
);
process.exit(failedPhases.length === 0 ? 0 : 1);
