import { rmSync, writeFileSync } from "node:fs";
import { expect, test, type Browser, type Page } from "@playwright/test";
import { apiMutate, apiQuery, expectNoSidewaysScroll, heatVms, keepScreenshot, signIn, type Vm } from "./helpers";
import { HOLD_READY_FILE } from "./paths";
import { workflowStatus } from "./database";

/**
 * The task bar, the VM page and the VM actions menu. One operator (admin) splits the heat VM
 * that holds all 64 actors while its actors are held back at the ready barrier (the worker's
 * MALLEO_TEST_HOLD_READY_FILE), so the split is seen running for certain: in the admin's task
 * bar, as a lock notice on another operator's pages, and as a disabled "locked by…" item in
 * that operator's menu. Then it succeeds (the bar follows, live), the VM pages show it, a
 * viewer's menu says why it cannot split, and the halves are merged back through the menu —
 * leaving one heat VM with all 64 actors for the specs after this one (file order).
 */

test.describe.configure({ mode: "serial" });

const OPERATOR = { name: "oscar", password: "operator-password-3" };
const VIEWER = { name: "tilda", password: "viewer-password-3" };
const OPERATION_DEADLINE = 120_000;

type Op = {
  id: string;
  status: string;
  waitingReason: string | null;
  plan: { sources: { id: string; name: string; hostId: string }[]; targets: { id: string; name: string; hostId: string }[] };
};

/** What the split made, shared by the tests in order. */
const split = { id: "", source: undefined as Vm | undefined, targets: [] as { id: string; name: string; hostId: string }[] };

async function pageAs(browser: Browser, who: { name: string; password: string }, viewport?: { width: number; height: number }) {
  const page = await (await browser.newContext(viewport ? { viewport } : {})).newPage();
  await signIn(page, who.name, who.password);
  return page;
}

/** Lets the held-back split go on and waits for it to succeed (a barrier that timed out meanwhile is told to wait longer). */
async function releaseAndAwait(page: Page, id: string): Promise<void> {
  rmSync(HOLD_READY_FILE, { force: true });
  await expect
    .poll(
      async () => {
        const op = await apiQuery<Op>(page, "operations.get", { id });
        if (op.status === "running" && op.waitingReason?.startsWith("ready"))
          await apiMutate(page, "operations.decideReadyTimeout", { id, decision: "extend" });
        return op.status;
      },
      { timeout: OPERATION_DEADLINE, intervals: [500] },
    )
    .toBe("succeeded");
}

test.afterEach(() => rmSync(HOLD_READY_FILE, { force: true }));

test("the task bar shows a split running then succeeded; another operator sees it lock the VM", async ({ page, browser }) => {
  await signIn(page);
  await apiMutate(page, "users.create", { name: OPERATOR.name, role: "operator", password: OPERATOR.password });
  await apiMutate(page, "users.create", { name: VIEWER.name, role: "viewer", password: VIEWER.password });
  const source = (await heatVms(page)).find((v) => v.state === "running" && v.actorCount === 64 && !v.lockedBy);
  expect(source, "a heat VM holding all 64 actors").toBeTruthy();
  split.source = source;
  const targetHostIds = ["pm-1", "pm-2", "pm-3"].filter((h) => h !== source!.hostId).slice(0, 2);

  const other = await pageAs(browser, OPERATOR);
  await other.goto(`/vms/${source!.id}`);
  await expect(other.getByTestId("vm-page-title")).toHaveText(source!.name);
  await expect(other.getByTestId("lock-notice")).toHaveCount(0);

  await page.goto("/");
  await expect(page.getByTestId(`vm-${source!.name}`)).toBeVisible({ timeout: 60_000 });
  writeFileSync(HOLD_READY_FILE, "");
  const op = await apiMutate<{ id: string }>(page, "operations.split", {
    vmId: source!.id,
    count: 2,
    targetHostIds,
    transfer: "barrier",
  });
  split.id = op.id;
  // The web server handed it to the worker itself, on DBOS's queue with DBOS's client: its workflow
  // exists as soon as the request returns (the worker's own sweep would look only after 5 s).
  expect(await workflowStatus(op.id)).not.toBeNull();

  // Running, in the bar itself (wide screen) and in its list, with its progress: live, no reload.
  const chip = page.getByTestId(`task-chip-${op.id}`);
  await expect(chip).toContainText(`Split ${source!.name} →`, { timeout: 30_000 });
  await expect(page.getByTestId("task-bar-toggle")).not.toHaveAttribute("data-running", "0");
  await page.getByTestId("task-bar-toggle").click();
  await expect(page.getByTestId("task-bar-toggle")).toHaveAttribute("aria-expanded", "true");
  const row = page.getByTestId(`task-${op.id}`);
  await expect(row).toHaveAttribute("data-status", "running");
  await expect(row).toHaveAttribute("data-outcome", "Running");
  await expect(row).toContainText("by admin");
  // Held at the barrier: Validate and Provision done, Ready under way, of a barrier split's 7 steps.
  await expect(page.getByTestId(`task-progress-${op.id}`)).toHaveText("Ready · 2 of 7 steps done", { timeout: 60_000 });
  // Its own operator gets no lock notice.
  await expect(page.getByTestId("lock-notice")).toHaveCount(0);
  await keepScreenshot(page, "task-bar-running");

  // The other operator, on the VM's page, is told who holds it, with a link (live, no reload).
  const notice = other.getByTestId("lock-notice");
  await expect(notice).toContainText(`Locked by admin's split op ${op.id.slice(0, 8)}`);
  await expect(other.getByTestId("lock-notice-link")).toHaveAttribute("href", `/operations/${op.id}`);
  await expect(other.getByTestId("vm-page-lock")).toBeVisible();
  // … and on the application's page and the topology; its menu says why Split is not offered.
  await other.goto("/applications/heat");
  await expect(other.getByTestId("lock-notice")).toContainText("Locked by admin's split");
  await other.goto("/");
  await expect(other.getByTestId("lock-notice")).toContainText("Locked by admin's split");
  await other.getByTestId(`vm-actions-${source!.name}`).click();
  await expect(other.getByTestId(`vm-action-why-split-${source!.name}`)).toHaveText(`locked by operation ${op.id.slice(0, 8)}`);
  await expect(other.getByTestId(`vm-action-split-${source!.name}`)).toHaveAttribute("aria-disabled", "true");
  await keepScreenshot(other, "lock-notice");

  await releaseAndAwait(page, op.id);
  // The bar follows the end without a reload; the link opens the operation.
  await expect(row).toHaveAttribute("data-status", "succeeded", { timeout: 30_000 });
  await expect(page.getByTestId(`task-outcome-${op.id}`)).toHaveText("Succeeded");
  await expect(chip).toHaveCount(0);
  await expect(other.getByTestId("lock-notice")).toHaveCount(0, { timeout: 30_000 });
  await page.getByTestId(`task-link-${op.id}`).click();
  await expect(page).toHaveURL(new RegExp(`/operations/${op.id}$`), { timeout: 30_000 });
  await expect(page.getByTestId("op-status")).toHaveAttribute("data-status", "succeeded");
  // The task bar is on every page: here too, with the list open as it was left.
  await expect(page.getByTestId(`task-${op.id}`)).toHaveAttribute("data-outcome", "Succeeded");

  const detail = await apiQuery<Op>(page, "operations.get", { id: op.id });
  split.targets = detail.plan.targets;
  expect(split.targets).toHaveLength(2);
  await other.context().close();
});

test("the VM page shows a VM's resources, host, application, actors and its operations; a deleted VM keeps its history", async ({
  page,
}) => {
  expect(split.id, "the split of the first test").not.toBe("");
  await signIn(page);
  const half = split.targets[0]!;
  await page.goto("/");
  await page.getByTestId(`vm-link-${half.name}`).click();
  await expect(page).toHaveURL(new RegExp(`/vms/${half.id}$`), { timeout: 30_000 });
  await expect(page.getByTestId("vm-page-title")).toHaveText(half.name);
  // A 4-vCPU, 8 GiB VM split in two.
  await expect(page.getByTestId("vm-page-vcpus")).toHaveText("2");
  await expect(page.getByTestId("vm-page-memory")).toHaveText("4 GiB");
  await expect(page.getByTestId("vm-page-host")).toContainText(half.hostId);
  await expect(page.getByTestId("vm-page-application")).toContainText("heat");
  await expect(page.getByTestId("vm-page-state")).toHaveAttribute("data-state", "running");
  await expect(page.getByTestId("vm-page-actor-count")).toHaveText("32");
  await expect(page.getByTestId("vm-page-actor-list").locator("li")).toHaveCount(32);
  // Its CPU over time, from the worker's samples (polled: samples come without an event).
  await expect
    .poll(async () => Number(await page.getByTestId("vm-page-cpu-chart").getAttribute("data-points")), { timeout: 30_000 })
    .toBeGreaterThan(0);
  const opRow = page.locator(`[data-testid="vm-op-row"][data-id="${split.id}"]`);
  await expect(opRow).toHaveAttribute("data-part", "target");
  await expect(opRow).toHaveAttribute("data-status", "succeeded");
  await keepScreenshot(page, "vm-page");

  // The host link opens the topology filtered to that host.
  await page.getByTestId("vm-page-host").getByRole("link").click();
  await expect(page.getByTestId("topology-host")).toHaveValue(half.hostId);
  await expect(page.getByTestId(`vm-${half.name}`)).toBeVisible();

  // The split's source is deleted, and its page still lists what it took part in, newest first.
  await page.goto(`/vms/${split.source!.id}`);
  await expect(page.getByTestId("vm-page-deleted")).toBeVisible();
  await expect(page.getByTestId("vm-page-state")).toHaveAttribute("data-state", "deleted");
  const rows = page.getByTestId("vm-op-row");
  await expect(rows.first()).toHaveAttribute("data-id", split.id);
  await expect(rows.first()).toHaveAttribute("data-part", "source");
  await rows.first().getByRole("link").click();
  await expect(page).toHaveURL(new RegExp(`/operations/${split.id}$`), { timeout: 30_000 });

  // An unknown id (or one that is not an id) is the console's not-found page, with its nav.
  for (const id of ["00000000-0000-4000-8000-000000000000", "heat-1"]) {
    const r = await page.goto(`/vms/${id}`);
    expect(r?.status()).toBe(404);
    await expect(page.getByTestId("not-found")).toBeVisible();
    await expect(page.getByTestId("nav-topology")).toBeVisible();
  }
});

test("the actions menu says in plain view why an item is disabled, and works from the keyboard", async ({ page, browser }) => {
  const half = split.targets[0]!;
  const viewer = await pageAs(browser, VIEWER);
  await viewer.goto("/");
  const button = viewer.getByTestId(`vm-actions-${half.name}`);
  await button.focus();
  await viewer.keyboard.press("Enter");
  await expect(button).toHaveAttribute("aria-expanded", "true");
  const splitItem = viewer.getByTestId(`vm-action-split-${half.name}`);
  await expect(splitItem).toBeFocused();
  await expect(splitItem).toHaveAttribute("aria-disabled", "true");
  await expect(viewer.getByTestId(`vm-action-why-split-${half.name}`)).toHaveText("viewer role cannot split");
  await expect(viewer.getByTestId(`vm-action-why-split-${half.name}`)).toBeVisible();
  await expect(viewer.getByTestId(`vm-action-why-merge-${half.name}`)).toHaveText("viewer role cannot merge");
  await keepScreenshot(viewer, "vm-actions-viewer");
  // Enter on a disabled item does nothing; arrows move, wrapping; Escape closes and gives focus back.
  await viewer.keyboard.press("Enter");
  await expect(viewer.locator("dialog[open]")).toHaveCount(0);
  await viewer.keyboard.press("ArrowDown");
  await expect(viewer.getByTestId(`vm-action-merge-${half.name}`)).toBeFocused();
  await viewer.keyboard.press("ArrowDown");
  await expect(viewer.getByTestId(`vm-action-open-${half.name}`)).toBeFocused();
  await viewer.keyboard.press("ArrowDown");
  await expect(splitItem).toBeFocused();
  await viewer.keyboard.press("Escape");
  await expect(button).toHaveAttribute("aria-expanded", "false");
  await expect(splitItem).toHaveCount(0);
  await expect(button).toBeFocused();
  // Space opens it too; ArrowUp goes to the last item, Open VM page, which Enter follows.
  await viewer.keyboard.press(" ");
  await expect(splitItem).toBeFocused();
  await viewer.keyboard.press("ArrowUp");
  await expect(viewer.getByTestId(`vm-action-open-${half.name}`)).toBeFocused();
  await viewer.keyboard.press("Enter");
  await expect(viewer).toHaveURL(new RegExp(`/vms/${half.id}$`), { timeout: 30_000 });
  // On the VM page the menu has no "Open VM page" and says the same.
  await viewer.getByTestId(`vm-actions-${half.name}`).click();
  await expect(viewer.getByTestId(`vm-action-why-split-${half.name}`)).toHaveText("viewer role cannot split");
  await expect(viewer.getByTestId(`vm-action-open-${half.name}`)).toHaveCount(0);
  await viewer.context().close();

  // An operator merges the halves back through the menu: Merge opens the dialog with this VM ticked.
  await signIn(page);
  await page.goto("/");
  await page.getByTestId(`vm-actions-${half.name}`).click();
  await expect(page.getByTestId(`vm-action-why-merge-${half.name}`)).toHaveCount(0);
  await page.getByTestId(`vm-action-merge-${half.name}`).click();
  await expect(page.getByTestId(`merge-vm-${half.name}`)).toBeChecked();
  await page.getByTestId(`merge-vm-${split.targets[1]!.name}`).check();
  await page.getByTestId("merge-target").selectOption(split.source!.hostId);
  await page.getByTestId("merge-submit").click();
  await expect(page).toHaveURL(/\/operations\/[0-9a-f-]{36}$/, { timeout: 30_000 });
  await expect(page.getByTestId("op-status")).toHaveAttribute("data-status", "succeeded", { timeout: OPERATION_DEADLINE });
  const mergeId = page.url().split("/").at(-1)!;
  // The halves' pages list the merge (as a source) above the split (as a target).
  await page.goto(`/vms/${half.id}`);
  const rows = page.getByTestId("vm-op-row");
  await expect(rows).toHaveCount(2);
  await expect(rows.nth(0)).toHaveAttribute("data-id", mergeId);
  await expect(rows.nth(0)).toHaveAttribute("data-part", "source");
  await expect(rows.nth(1)).toHaveAttribute("data-id", split.id);
  const merged = (await heatVms(page)).filter((v) => v.state === "running");
  expect(merged.map((v) => v.actorCount)).toEqual([64]);
});

test.describe("at phone size", () => {
  test.use({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });

  test("the task bar folds to a count that opens the list; the VM page and its menu fit the screen", async ({ page }) => {
    await signIn(page);
    await page.goto("/");
    await expect(page.locator("article.vm").first()).toBeVisible({ timeout: 60_000 });
    const toggle = page.getByTestId("task-bar-toggle");
    await expect(toggle).toBeVisible();
    await expect(toggle).toHaveAttribute("data-running", "0");
    await expectNoSidewaysScroll(page, "topology with the task bar");
    await toggle.tap();
    const row = page.getByTestId(`task-${split.id}`);
    await expect(row).toHaveAttribute("data-outcome", "Succeeded");
    await expectNoSidewaysScroll(page, "topology with the task list open");
    await keepScreenshot(page, "task-bar-phone");
    await page.getByTestId(`task-link-${split.id}`).tap();
    await expect(page).toHaveURL(new RegExp(`/operations/${split.id}$`), { timeout: 30_000 });

    const vm = (await heatVms(page)).find((v) => v.state === "running")!;
    await page.goto(`/vms/${vm.id}`);
    await expect(page.getByTestId("vm-page-actor-count")).toHaveText("64");
    await page.getByTestId(`vm-actions-${vm.name}`).tap();
    await expect(page.getByTestId(`vm-action-split-${vm.name}`)).toBeVisible();
    await expectNoSidewaysScroll(page, "VM page with its menu open");
    await keepScreenshot(page, "vm-page-phone");
  });
});
