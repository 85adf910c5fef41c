import { expect, test, type Page } from "@playwright/test";
import { keepScreenshot, signIn } from "./helpers";

/**
 * An operator's first session: watch heat diffusion run on heat-1, split heat-1 across two
 * other hosts, watch the operation finish, then merge the two halves back onto pm-1. The
 * conserved quantity is the actor count: 64 before, 32 + 32 after the split, 64 after the merge,
 * and the application keeps iterating throughout.
 */

const STEPS = {
  barrier: ["validate", "provision", "ready", "checkpoint", "transfer", "resume", "cleanup"],
  live: ["validate", "provision", "checkpoint", "transfer", "cleanup"],
} as const;
const OPERATION_DEADLINE = 120_000;

async function iteration(page: Page): Promise<number> {
  return Number(await page.getByTestId("app-iteration-heat").getAttribute("data-value"));
}

/** The application makes progress: the counter rises while we watch (live, no reload). */
async function expectIterationRising(page: Page): Promise<void> {
  const start = await iteration(page);
  await expect.poll(() => iteration(page), { timeout: 30_000, message: "heat iteration should rise" }).toBeGreaterThan(start);
}

/** Waits on the operation page for success with every step succeeded; returns the planned target names. */
async function expectOperationSucceeded(page: Page, mode: keyof typeof STEPS): Promise<string[]> {
  await expect(page).toHaveURL(/\/operations\/[0-9a-f-]{36}$/, { timeout: 30_000 });
  await expect(page.getByTestId("op-status")).toHaveAttribute("data-status", "succeeded", { timeout: OPERATION_DEADLINE });
  // Exactly the mode's steps, in order: a live transfer has no Ready or Resume.
  await expect(page.locator('[data-testid^="step-"][data-status]')).toHaveCount(STEPS[mode].length);
  for (const step of STEPS[mode]) {
    await expect(page.getByTestId(`step-${step}`), `step ${step}`).toHaveAttribute("data-status", "succeeded");
  }
  // What the move cost the application is measured and shown.
  await expect(page.getByTestId("op-pause")).toHaveAttribute("data-pause-ms", /^\d+(\.\d+)?$/);
  // Durations read "850 ms" or, on a loaded machine, "1.1 s".
  await expect(page.getByTestId("op-hold")).toContainText(/p50 \d+(\.\d+)? m?s · p99 \d+/);
  const targets = page.getByTestId("plan-target");
  return Promise.all((await targets.all()).map(async (row) => (await row.getAttribute("data-name"))!));
}

async function actorsOn(page: Page, vmName: string): Promise<number> {
  return Number(await page.getByTestId(`vm-actors-${vmName}`).textContent());
}

test("split heat-1 onto pm-2 and pm-3, then merge it back onto pm-1", async ({ page }) => {
  await signIn(page);
  await page.goto("/");
  await expect(page.getByTestId("vm-heat-1")).toBeVisible({ timeout: 60_000 });
  await expect(page.getByTestId("host-pm-1").getByTestId("vm-heat-1")).toBeVisible();
  await expect(page.getByTestId("vm-actors-heat-1")).toHaveText("64");
  await expectIterationRising(page);

  // Split into two VMs, one on pm-2 and one on pm-3.
  await page.getByTestId("split-button-heat-1").click();
  await page.getByTestId("split-count").selectOption("2");
  await page.getByTestId("split-target-0").selectOption("pm-2");
  await page.getByTestId("split-target-1").selectOption("pm-3");
  // Live is the default; this split moves with a barrier (all actors pause together).
  await expect(page.getByTestId("split-transfer-live")).toBeChecked();
  await expect(page.getByTestId("split-transfer")).toContainText("Live: each actor pauses only while it moves");
  await expect(page.getByTestId("split-transfer")).toContainText("Barrier: all actors pause together for a consistent cut");
  await page.getByTestId("split-transfer-barrier").check();
  await expect(page.getByTestId("preview-pause")).toHaveAttribute("data-mode", "barrier");
  await keepScreenshot(page, "split-dialog");
  await page.getByTestId("split-submit").click();
  await expect(page).toHaveURL(/\/operations\/[0-9a-f-]{36}$/, { timeout: 30_000 });
  await expect(page.getByTestId("op-transfer")).toHaveAttribute("data-mode", "barrier");
  await expect(page.getByTestId("op-transfer")).toContainText("Barrier");
  const halves = await expectOperationSucceeded(page, "barrier");
  expect(halves).toHaveLength(2);
  await expect(page.getByTestId("transfer-progress")).toHaveAttribute("data-moved", "64");
  await keepScreenshot(page, "operation-split");
  const [left, right] = halves as [string, string];

  await page.getByTestId("nav-topology").click();
  await expect(page.getByTestId("host-pm-2").getByTestId(`vm-${left}`)).toBeVisible({ timeout: 30_000 });
  await expect(page.getByTestId("host-pm-3").getByTestId(`vm-${right}`)).toBeVisible();
  await expect(page.getByTestId("vm-heat-1")).toHaveCount(0);
  await expect(page.getByTestId(`vm-actors-${left}`)).toHaveText("32");
  await expect(page.getByTestId(`vm-actors-${right}`)).toHaveText("32");
  expect((await actorsOn(page, left)) + (await actorsOn(page, right))).toBe(64);
  await expectIterationRising(page);

  // Merge the two halves back into one VM on pm-1.
  await page.getByTestId("merge-button").click();
  await page.getByTestId(`merge-vm-${left}`).check();
  await page.getByTestId(`merge-vm-${right}`).check();
  await page.getByTestId("merge-target").selectOption("pm-1");
  // The split measured a transfer: the preview predicts the pause of both modes (live chosen).
  await expect(page.getByTestId("merge-transfer-live")).toBeChecked();
  await expect(page.getByTestId("preview-pause")).toHaveAttribute("data-mode", "live");
  await expect(page.getByTestId("preview-pause")).toContainText("for each actor, while it moves");
  await expect(page.getByTestId("preview-pause-other")).toContainText("Barrier instead");
  await keepScreenshot(page, "merge-dialog");
  await page.getByTestId("merge-submit").click();
  await expect(page).toHaveURL(/\/operations\/[0-9a-f-]{36}$/, { timeout: 30_000 });
  await expect(page.getByTestId("op-transfer")).toHaveAttribute("data-mode", "live");
  const [merged] = await expectOperationSucceeded(page, "live");
  // Beside the measured pause, what the preview estimated from the operations before it.
  await expect(page.getByTestId("op-pause-predicted")).toContainText("preview estimates ≈");
  expect(merged).toBeTruthy();

  await page.getByTestId("nav-topology").click();
  await expect(page.getByTestId("host-pm-1").getByTestId(`vm-${merged}`)).toBeVisible({ timeout: 30_000 });
  await expect(page.getByTestId(`vm-actors-${merged}`)).toHaveText("64");
  await expect(page.getByTestId(`vm-${left}`)).toHaveCount(0);
  await expect(page.getByTestId(`vm-${right}`)).toHaveCount(0);
  await expect(page.locator('[data-testid^="vm-actors-"]')).toHaveCount(1);
  await expectIterationRising(page);
  await keepScreenshot(page, "topology");

  // History lists both operations, newest first, each succeeded.
  await page.getByTestId("nav-history").click();
  // Only this test's operations: other specs may have added theirs (a cancelled split, for one).
  const rows = page.locator('[data-testid="history-row"][data-status="succeeded"]');
  await expect(rows).toHaveCount(2);
  await expect(rows.nth(0)).toHaveAttribute("data-kind", "merge");
  await expect(rows.nth(1)).toHaveAttribute("data-kind", "split");
  await expect(rows.nth(0)).toHaveAttribute("data-status", "succeeded");
  await expect(rows.nth(1)).toHaveAttribute("data-status", "succeeded");
  await expect(rows.nth(1)).toContainText("heat-1");
  // Every action names who did it.
  await expect(rows.nth(0)).toHaveAttribute("data-operator", "admin");
  await expect(page.getByTestId("audit-row").filter({ hasText: "operations.split" }).first()).toHaveAttribute(
    "data-actor",
    "admin",
  );
  await keepScreenshot(page, "history");
});
