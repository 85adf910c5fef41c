import { expect, test, type Page } from "@playwright/test";
import { e2eDatabase } from "./database";
import { ADMIN_PASSWORD, expectNoSidewaysScroll, heatVms, keepScreenshot, signIn, type Vm } from "./helpers";

/**
 * The console on a phone (390×844, touch; the "phone" project in playwright.config.ts, run
 * after every desktop spec): sign in, merge, split, cancel, History and Admin done by touch
 * through the folded menu, full-screen dialogs and tables shown as lists, and no page wider
 * than the screen at 390 px or 360 px. Starts from whatever heat VMs the desktop specs left.
 */

test.describe.configure({ mode: "serial" });

const OPERATION_DEADLINE = 120_000;
/** Each page, and what shows once its data has drawn. */
const PAGES: Record<string, string> = {
  "/": "article.vm",
  "/applications": '[data-testid="apps-table"] tbody tr',
  "/applications/heat": '[data-testid="app-vms"] tbody tr',
  "/history": '[data-testid="audit-row"]',
  "/charts": '[data-testid="chart-throughput"] .chart__body',
  "/admin": '[data-testid="hosts-table"] tbody tr',
  "/no-such-page": '[data-testid="not-found"]',
};

/** The heat VMs that have not failed. */
async function liveHeatVms(page: Page): Promise<Vm[]> {
  return (await heatVms(page)).filter((v) => v.state !== "failed");
}

/** Goes to a page through the folded menu, as a thumb would. */
async function navigate(page: Page, testId: string): Promise<void> {
  await expect(page.getByTestId(testId)).toBeHidden();
  await page.getByTestId("nav-toggle").click();
  await expect(page.getByTestId("nav-toggle")).toHaveAttribute("aria-expanded", "true");
  await page.getByTestId(testId).click();
  // The menu folds again once the page changed.
  await expect(page.getByTestId("nav-toggle")).toHaveAttribute("aria-expanded", "false");
  await expect(page.getByTestId(testId)).toBeHidden();
}

/** A dialog fills the phone's screen. */
async function expectFullScreen(page: Page, testId: string): Promise<void> {
  const box = (await page.getByTestId(testId).boundingBox())!;
  const viewport = page.viewportSize()!;
  expect(Math.round(box.x)).toBe(0);
  expect(Math.round(box.width)).toBe(viewport.width);
  expect(Math.round(box.height)).toBe(viewport.height);
}

async function waitForOutcome(page: Page, status: string): Promise<void> {
  await expect(page).toHaveURL(/\/operations\/[0-9a-f-]{36}$/, { timeout: 30_000 });
  await expect(page.getByTestId("op-status")).toHaveAttribute("data-status", status, { timeout: OPERATION_DEADLINE });
  await expect(page.getByTestId("op-log-line").last()).toContainText(`operation ${status.replace("_", " ")}`);
  await expectNoSidewaysScroll(page, `a ${status} operation's page`);
}

test("sign in on a phone, and no page is wider than the screen at 390 px or 360 px", async ({ page }) => {
  await page.goto("/charts");
  await expect(page).toHaveURL(/\/sign-in\?next=%2Fcharts$/);
  await expectNoSidewaysScroll(page, "sign-in");
  await page.getByTestId("sign-in-name").fill("admin");
  await page.getByTestId("sign-in-password").fill(ADMIN_PASSWORD);
  await page.getByTestId("sign-in-submit").click();
  await expect(page).toHaveURL(/\/charts$/, { timeout: 30_000 });
  // The top bar fits: brand, live dot and Menu; the pages and the user fold behind Menu.
  await expect(page.getByTestId("nav-toggle")).toBeVisible();
  await expect(page.getByTestId("sign-out")).toBeHidden();
  // A tap that lands before the page has hydrated is lost (a loaded machine, a chart-heavy page): tap until it opens.
  const toggle = page.getByTestId("nav-toggle");
  await expect(async () => {
    if ((await toggle.getAttribute("aria-expanded")) !== "true") await toggle.click();
    await expect(toggle).toHaveAttribute("aria-expanded", "true", { timeout: 1000 });
  }).toPass({ timeout: 30_000 });
  await expect(page.getByTestId("nav-charts")).toHaveAttribute("aria-current", "page");
  await expect(page.getByTestId("sign-out")).toBeVisible();
  await keepScreenshot(page, "phone-menu");
  await page.getByTestId("nav-toggle").click();

  const op = await page.request.get(`/api/trpc/operations.search?input=${encodeURIComponent(JSON.stringify({ json: {} }))}`);
  const latest = ((await op.json()) as { result: { data: { json: { items: { id: string }[] } } } }).result.data.json.items[0];
  const pages = latest ? { ...PAGES, [`/operations/${latest.id}`]: '[data-testid="op-log-line"]' } : PAGES;
  for (const width of [390, 360]) {
    await page.setViewportSize({ width, height: 800 });
    for (const [path, drawn] of Object.entries(pages)) {
      await page.goto(path);
      await expect(page.locator(drawn).first()).toBeAttached({ timeout: 30_000 });
      await expectNoSidewaysScroll(page, `${path} at ${width} px`);
    }
  }
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto("/no-such-page");
  // The 404 keeps the console around it: the way back is in the menu.
  await expect(page.getByTestId("not-found")).toContainText("Nothing lives at this address");
  await expect(page.getByTestId("nav-toggle")).toBeVisible();
});

test("merge, then split, by touch: dialogs fill the screen and the operation page follows to the outcome", async ({ page }) => {
  await signIn(page);
  await page.goto("/");
  let heat = await liveHeatVms(page);
  await expect(page.locator("article.vm").first()).toBeVisible({ timeout: 60_000 });

  if (heat.length >= 2) {
    await page.getByTestId("merge-button").click();
    await expect(page.getByTestId("merge-dialog")).toBeVisible();
    await expectFullScreen(page, "merge-dialog");
    for (const vm of heat) await page.getByTestId(`merge-vm-${vm.name}`).check();
    await expectNoSidewaysScroll(page, "merge dialog");
    await keepScreenshot(page, "phone-merge-dialog");
    await page.getByTestId("merge-submit").click();
    await waitForOutcome(page, "succeeded");
    await expectNoSidewaysScroll(page, "merge operation");
    await navigate(page, "nav-topology");
    await expect.poll(async () => (await liveHeatVms(page)).length, { timeout: 30_000 }).toBe(1);
    heat = await liveHeatVms(page);
  }

  const [whole] = heat;
  expect(whole!.actorCount).toBe(64);
  const split = page.getByTestId(`split-button-${whole!.name}`);
  await split.scrollIntoViewIfNeeded();
  await split.click();
  await expectFullScreen(page, "split-dialog");
  // Closing gives focus back to the button that opened the dialog.
  await page.getByTestId("split-dialog").getByRole("button", { name: "Close" }).click();
  await expect(page.getByTestId("split-dialog")).toHaveCount(0);
  await expect(split).toBeFocused();
  await split.click();
  await page.getByTestId("split-count").selectOption("2");
  await expect(page.getByTestId("split-submit")).toBeEnabled();
  await keepScreenshot(page, "phone-split-dialog");
  await page.getByTestId("split-submit").click();
  await waitForOutcome(page, "succeeded");
  // The steps and their details read for people, and the log names them the same way.
  await expect(page.getByTestId("step-detail-provision")).toContainText("created");
  await expect(page.getByTestId("step-detail-transfer")).toContainText(/state moved \d+(\.\d+)? (B|KiB|MiB)/);
  await expect(page.getByTestId("op-log")).toContainText("Validate & plan succeeded");
  await expect(page.getByTestId("op-log")).toContainText("Clean up succeeded");
  await keepScreenshot(page, "phone-operation");
  await navigate(page, "nav-topology");
  await expect.poll(async () => (await liveHeatVms(page)).length, { timeout: 30_000 }).toBe(2);
});

test("cancel a merge from the phone: confirmed in the console's own dialog, rolled back", async ({ page }) => {
  await signIn(page);
  await page.goto("/");
  const heat = await liveHeatVms(page);
  expect(heat.length).toBeGreaterThanOrEqual(2);
  await page.getByTestId("merge-button").click();
  for (const vm of heat) await page.getByTestId(`merge-vm-${vm.name}`).check();
  // Hold the workflow before its first step until the cancel is recorded (as roles-and-live.spec.ts does).
  const db = await e2eDatabase();
  try {
    await db.query("BEGIN");
    await db.query("LOCK TABLE operation_steps IN EXCLUSIVE MODE");
    await page.getByTestId("merge-submit").click();
    await expect(page).toHaveURL(/\/operations\/[0-9a-f-]{36}$/, { timeout: 30_000 });
    await page.getByTestId("op-cancel").click();
    await expectNoSidewaysScroll(page, "cancel confirmation");
    await page.getByTestId("confirm-ok").click();
    await expect(page.getByTestId("op-cancel-requested")).toContainText("Cancel requested by admin", { timeout: 30_000 });
    await db.query("COMMIT");
  } finally {
    await db.query("ROLLBACK").catch(() => undefined);
    await db.end();
  }
  await waitForOutcome(page, "rolled_back");
  await expect(page.getByTestId("op-log")).toContainText("requested cancel");
});

test("History and the audit log read as lists on a phone, and a row opens its operation", async ({ page }) => {
  await signIn(page);
  await navigate(page, "nav-history");
  const row = page.getByTestId("history-row").first();
  await expect(row).toBeVisible();
  // A list, not a table: no column headers, each row a card with its cells one above the other.
  await expect(page.getByTestId("history-table").locator("thead")).toBeHidden();
  const cells = row.locator("td");
  const first = (await cells.nth(0).boundingBox())!;
  const second = (await cells.nth(1).boundingBox())!;
  expect(second.y).toBeGreaterThan(first.y);
  await expect(page.getByTestId("audit-table").locator("thead")).toBeHidden();
  // The filters fold behind one button, so the rows come first; opened, they are all there.
  await expect(page.getByTestId("history-filters")).toBeHidden();
  await expect(page.getByTestId("audit-filters")).toBeHidden();
  const toggle = page.getByTestId("history-filters-toggle");
  await expect(toggle).toHaveText("Filters");
  await expect(toggle).toHaveAttribute("aria-expanded", "false");
  const filtersTop = (await toggle.boundingBox())!.y;
  expect((await row.boundingBox())!.y - filtersTop).toBeLessThan(page.viewportSize()!.height / 2);
  await toggle.click();
  await expect(page.getByTestId("history-filters")).toBeVisible();
  await page.getByTestId("filter-status").selectOption("rolled_back");
  await expect(toggle).toHaveText("Hide filters · 1 active");
  await expect(page.locator('[data-testid="history-row"]').first()).toHaveAttribute("data-status", "rolled_back");
  await keepScreenshot(page, "phone-history");
  await expectNoSidewaysScroll(page, "history, filtered");
  await page.getByTestId("history-row").first().getByRole("link").first().click();
  await expect(page.getByTestId("op-status")).toHaveAttribute("data-status", "rolled_back");
  // An operation belongs to History in the menu.
  await page.getByTestId("nav-toggle").click();
  await expect(page.getByTestId("nav-history")).toHaveAttribute("aria-current", "page");
});

test("Admin on a phone: create a user, change their role after confirming, sign out and in as them", async ({ page }) => {
  await signIn(page);
  await navigate(page, "nav-admin");
  await expect(page.getByTestId("users-table").locator("thead")).toBeHidden();
  await page.getByTestId("user-create-name").fill("phoebe");
  await page.getByTestId("user-create-role").selectOption("viewer");
  await page.getByTestId("user-create-password").fill("phoebe-password-1");
  await page.getByTestId("user-create-submit").click();
  await expect(page.getByTestId("user-row-phoebe")).toHaveAttribute("data-role", "viewer");
  await page.getByTestId("user-role-phoebe").selectOption("operator");
  await expect(page.getByTestId("confirm-dialog")).toBeVisible();
  await expectNoSidewaysScroll(page, "role confirmation");
  await page.getByTestId("confirm-ok").click();
  await expect(page.getByTestId("user-row-phoebe")).toHaveAttribute("data-role", "operator");
  await keepScreenshot(page, "phone-admin");
  await expectNoSidewaysScroll(page, "admin");

  await page.getByTestId("nav-toggle").click();
  await page.getByTestId("sign-out").click();
  await expect(page).toHaveURL(/\/sign-in$/);
  await signIn(page, "phoebe", "phoebe-password-1");
  await page.getByTestId("nav-toggle").click();
  await expect(page.getByTestId("user-role")).toHaveText("operator");
});
