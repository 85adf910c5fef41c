import { defineConfig } from "vitest/config";

// Tiers by file name: *.test.ts is pure and fast; *.integration.test.ts runs against the real
// embedded Postgres, the real libvirt test driver and real theater processes.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["packages/**/*.test.ts", "apps/**/*.test.ts", "applications/**/*.test.ts", "scripts/*.test.ts"],
          exclude: ["**/*.integration.test.ts", "**/node_modules/**"],
        },
      },
      {
        test: {
          name: "integration",
          include: [
            "packages/**/*.integration.test.ts",
            "apps/**/*.integration.test.ts",
            "applications/**/*.integration.test.ts",
          ],
          exclude: ["**/node_modules/**"],
          globalSetup: ["scripts/test-global-setup.ts"],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        // The hostile phase (scripts/hostile.ts): fuzzed frames and hostile API inputs.
        test: {
          name: "hostile",
          include: ["scripts/hostile/**/*.hostile.test.ts"],
          exclude: ["**/node_modules/**"],
          globalSetup: ["scripts/test-global-setup.ts"],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
