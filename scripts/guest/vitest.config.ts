import path from "node:path";
import { defineConfig } from "vitest/config";

// `npm run test:guests`: real guests under libvirt's qemu driver, on the integration tier's
// embedded Postgres (its global setup) — separate from `vitest.config.ts` because it needs
// root, libvirtd and minutes, and prints `skipped: <reason>` where it cannot run.
export default defineConfig({
  root: path.resolve(import.meta.dirname, "../.."),
  test: {
    include: ["scripts/guest/**/*.guests.test.ts"],
    globalSetup: ["scripts/test-global-setup.ts"],
    testTimeout: 600_000,
    hookTimeout: 300_000,
    fileParallelism: false,
  },
});
