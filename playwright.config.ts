import { defineConfig } from "@playwright/test";
import { E2E_DATA_DIR as DATA_DIR, E2E_PORT as PORT, HOLD_READY_FILE } from "./e2e/paths";

const PG_PORT = process.env.MALLEO_E2E_PG_PORT ?? "22331";
const baseURL = `http://127.0.0.1:${PORT}`;

/**
 * End-to-end tests in a real browser against the whole product: embedded Postgres, the worker
 * with simulated hosts, and the production web build, all started fresh by scripts/start.ts.
 */
export default defineConfig({
  testDir: "e2e",
  outputDir: "test-results/",
  fullyParallel: false,
  workers: 1,
  // No retry: most specs are serial (each test builds on the one before), so a retry of one replays
  // against the state its first run left and fails for that reason instead.
  retries: 0,
  timeout: 300_000,
  reporter: [["list"]],
  use: {
    baseURL,
    screenshot: "on",
    trace: "retain-on-failure",
    launchOptions: {
      executablePath: "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
  },
  projects: [
    {
      name: "desktop",
      testIgnore: /(phone|applications|lifecycle|accessibility)\.spec\.ts$/,
      use: { viewport: { width: 1280, height: 800 } },
    },
    {
      // Deploys, stops, starts and deletes applications of its own (lifecycle.spec.ts: each kind
      // split and merged too): after the desktop specs, whose History and topology counts they
      // would otherwise change.
      name: "applications",
      testMatch: /(applications|lifecycle)\.spec\.ts$/,
      dependencies: ["desktop"],
      use: { viewport: { width: 1280, height: 800 } },
    },
    {
      // Every flow again on a phone, once the desktop specs are done (it starts from what they leave).
      name: "phone",
      testMatch: /phone\.spec\.ts$/,
      dependencies: ["applications"],
      use: { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 },
    },
    {
      // axe-core over every page at both sizes (one desktop and one phone context, signed in once
      // and shared by its tests), and the screenshots in docs/screenshots/: last, on a console every
      // flow has used.
      name: "accessibility",
      testMatch: /accessibility\.spec\.ts$/,
      dependencies: ["phone"],
    },
  ],
  webServer: {
    // Ctrl-C-like stop, so that scripts/start.ts stops the worker, its theaters and Postgres.
    gracefulShutdown: { signal: "SIGTERM", timeout: 20_000 },
    command: "npx tsx scripts/start.ts",
    env: {
      MALLEO_DATA_DIR: DATA_DIR,
      MALLEO_FRESH: "1",
      PORT: String(PORT),
      MALLEO_PG_PORT: PG_PORT,
      // Must match e2e/helpers.ts ADMIN_PASSWORD.
      MALLEO_ADMIN_PASSWORD: "e2e-admin-password-1",
      // e2e/wait-or-abort.spec.ts makes the ready barrier time out by creating this file.
      MALLEO_TEST_HOLD_READY_FILE: HOLD_READY_FILE,
      // …and waits out this timeout twice: shorter than the 30 s default keeps the suite quick.
      MALLEO_READY_TIMEOUT_MS: "8000",
    },
    url: baseURL,
    timeout: 300_000,
    reuseExistingServer: false,
    stdout: "pipe",
    stderr: "pipe",
  },
});
