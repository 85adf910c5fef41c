// `npm test`: the whole suite — typecheck, lint, unit, integration (real Postgres, libvirt test
// driver, theater processes) and e2e (Playwright in Debian's Chromium) — then one summary line.
import { spawnSync } from "node:child_process";
import path from "node:path";

const root = path.resolve(import.meta.dirname, "..");
const bin = (p: string) => path.join(root, "node_modules", p);
const phases: { name: string; args: string[] }[] = [
  { name: "typecheck", args: [bin("typescript/bin/tsc"), "-p", "tsconfig.json", "--noEmit"] },
  { name: "lint", args: [bin("eslint/bin/eslint.js"), "--max-warnings=0", "."] },
  { name: "unit", args: [bin("vitest/vitest.mjs"), "run", "--project", "unit"] },
  { name: "integration", args: [bin("vitest/vitest.mjs"), "run", "--project", "integration"] },
  { name: "e2e", args: [bin("@playwright/test/cli.js"), "test"] },
];

const only = process.argv.slice(2);
let passed = 0;
let failed = 0;
const started = Date.now();
for (const phase of phases) {
  if (only.length > 0 && !only.includes(phase.name)) continue;
  const t0 = Date.now();
  process.stdout.write(`\n=== ${phase.name} ===\n`);
  const r = spawnSync(process.execPath, phase.args, { cwd: root, stdio: "inherit", env: { ...process.env, FORCE_COLOR: "0" } });
  const ok = r.status === 0;
  process.stdout.write(`=== ${phase.name}: ${ok ? "passed" : "FAILED"} in ${((Date.now() - t0) / 1000).toFixed(1)} s ===\n`);
  if (ok) passed++;
  else failed++;
}
process.stdout.write(`\nsuite finished in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
process.stdout.write(`${passed} passed, ${failed} failed\n`);
process.exit(failed === 0 ? 0 : 1);
