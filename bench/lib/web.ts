// The production web UI and a signed-in Chromium page, for the benchmarks that measure the UI.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import path from "node:path";
import { hashPassword } from "@malleo/api";
import { waitUntil } from "@malleo/testing";
import { chromium, type Browser, type Page } from "@playwright/test";
import type pg from "pg";

const root = path.resolve(import.meta.dirname, "../..");
const nextBin = path.join(root, "node_modules/next/dist/bin/next");

export interface BenchWeb {
  base: string;
  browser: Browser;
  /** A page signed in as a viewer. */
  page: Page;
  stop(): Promise<void>;
}

/**
 * Builds apps/web if it never was (the build is shared: run benchmarks under the e2e lock, see
 * ui-latency.ts), starts `next start` on `port` against `url`, creates a viewer and signs a
 * Chromium page in as them.
 */
export async function startBenchWeb(client: pg.Client, url: string, port: number): Promise<BenchWeb> {
  const password = "bench-password-1";
  await client.query(`INSERT INTO users (id, name, role, password_hash) VALUES ($1, 'bench', 'viewer', $2)`, [
    randomUUID(),
    await hashPassword(password),
  ]);
  if (!existsSync(path.join(root, "apps/web/.next/BUILD_ID"))) {
    const b = spawnSync(process.execPath, [nextBin, "build"], {
      cwd: path.join(root, "apps/web"),
      stdio: "inherit",
      env: { ...process.env, DATABASE_URL: "postgres://build/placeholder", NEXT_TELEMETRY_DISABLED: "1" },
    });
    if (b.status !== 0) throw new Error("next build failed");
  }
  const web: ChildProcess = spawn(process.execPath, [nextBin, "start", "-p", String(port), "-H", "127.0.0.1"], {
    cwd: path.join(root, "apps/web"),
    stdio: "ignore",
    env: { ...process.env, DATABASE_URL: url, NODE_ENV: "production", NEXT_TELEMETRY_DISABLED: "1" },
  });
  let browser: Browser | undefined;
  const stop = async () => {
    await browser?.close().catch(() => undefined);
    if (web.exitCode === null) {
      web.kill("SIGTERM");
      await new Promise((r) => web.once("exit", r));
    }
  };
  try {
    const base = `http://127.0.0.1:${port}`;
    await waitUntil("the web UI", async () => (await fetch(`${base}/sign-in`)).ok, {
      timeoutMs: 120_000,
      intervalMs: 200,
      ignoreErrors: true,
    });
    browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox", "--disable-gpu"] });
    const page = await browser.newPage();
    await page.goto(`${base}/sign-in`);
    await page.getByTestId("sign-in-name").fill("bench");
    await page.getByTestId("sign-in-password").fill(password);
    await page.getByTestId("sign-in-submit").click();
    await page.getByTestId("user-name").waitFor({ timeout: 60_000 });
    return { base, browser, page, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
