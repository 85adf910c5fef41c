import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect, test, type Browser, type Locator, type Page } from "@playwright/test";
import { buildBundle } from "@malleo/sdk/bundle/build";
import { keepScreenshot, signIn } from "./helpers";

/**
 * An application's own page (the "applications" project in playwright.config.ts, run after the
 * desktop specs): an operator deploys PageRank from a form generated from its config schema onto
 * one VM, watches it run, stops and starts it, restores it from a checkpoint, turns automatic
 * recovery off and on, and deletes it — its operations kept in History. A viewer sees every
 * action disabled with the reason written beside it. An admin registers bundles; an operator
 * deploys one and upgrades it to another registered version from its page.
 */

test.describe.configure({ mode: "serial" });

const APP = "pr-e2e";
const VM = `${APP}-1`;
const OPERATION_DEADLINE = 120_000;

async function iteration(page: Page): Promise<number> {
  return Number(await page.getByTestId("app-page-iteration").getAttribute("data-value"));
}

async function expectIterationRising(page: Page, above: number): Promise<number> {
  await expect
    .poll(() => iteration(page), { timeout: 60_000, message: `${APP}'s iteration should rise above ${above}` })
    .toBeGreaterThan(above);
  return iteration(page);
}

/** The action just taken: its operation followed inline until it succeeded, with a link to its page. */
async function expectActionSucceeded(page: Page, kind: string): Promise<void> {
  const op = page.getByTestId("app-action-op");
  await expect(op).toHaveAttribute("data-kind", kind);
  await expect(op.getByRole("link")).toHaveAttribute("href", /^\/operations\/[0-9a-f-]{36}$/);
  await expect(op).toHaveAttribute("data-status", "succeeded", { timeout: OPERATION_DEADLINE });
}

test("an operator deploys PageRank, stops, starts and restores it, switches recovery, and deletes it", async ({ page }) => {
  await signIn(page);
  await page.getByTestId("nav-applications").click();
  await expect(page).toHaveURL(/\/applications$/);
  await expect(page.getByTestId("nav-applications")).toHaveAttribute("aria-current", "page");
  // The seeded heat is listed with its installed version.
  await expect(page.getByTestId("apps-row-heat")).toContainText("1.0.0");
  await expect(page.getByTestId(`apps-row-${APP}`)).toHaveCount(0);

  // The form is generated from the kind's schema and starts from its default configuration.
  await page.getByTestId("deploy-button").click();
  const dialog = page.getByTestId("deploy-dialog");
  await dialog.getByTestId("deploy-kind").selectOption("pagerank");
  await expect(dialog.getByTestId("deploy-version")).toHaveValue("1.0.0");
  await expect(dialog.getByTestId("deploy-id")).toHaveValue("pagerank");
  await expect(dialog.getByTestId("deploy-config-nodes")).toHaveValue("20000");
  await expect(dialog.getByTestId("deploy-config-damping")).toHaveValue("0.85");
  // maxIterations is nullable and null by default: "none".
  await expect(dialog.getByTestId("deploy-config-maxIterations-none")).toBeChecked();
  await expect(dialog.getByTestId("deploy-config-maxIterations")).toBeDisabled();
  await expect(dialog.locator('[data-testid^="deploy-config-"]:not([data-testid$="-none"])')).toHaveCount(7);

  // A value outside the schema's range is named before anything is sent.
  await dialog.getByTestId("deploy-id").fill(APP);
  await dialog.getByTestId("deploy-config-nodes").fill("1");
  await expect(dialog.getByTestId("deploy-problems")).toHaveText("nodes: 2 to 200000");
  await expect(dialog.getByTestId("deploy-submit")).toBeDisabled();
  // What only the application's own schema knows is refused by the server, in the form.
  await dialog.getByTestId("deploy-config-nodes").fill("2");
  await dialog.getByTestId("deploy-config-partitions").fill("4");
  await dialog.getByTestId("deploy-vm-host-0").selectOption("pm-2");
  await dialog.getByTestId("deploy-submit").click();
  await expect(dialog.getByTestId("deploy-error")).toContainText("partitions must be at most the number of nodes");
  // So is a VM larger than its host has room for.
  await dialog.getByTestId("deploy-config-nodes").fill("500");
  await dialog.getByTestId("deploy-vm-vcpus-0").fill("64");
  await dialog.getByTestId("deploy-submit").click();
  await expect(dialog.getByTestId("deploy-error")).toContainText("pm-2");
  await expect(dialog.getByTestId("deploy-error")).toContainText("vCPU");
  await expect(page).toHaveURL(/\/applications$/);

  await dialog.getByTestId("deploy-vm-vcpus-0").fill("2");
  await dialog.getByTestId("deploy-vm-memory-0").fill("2048");
  await keepScreenshot(page, "deploy-dialog");
  await dialog.getByTestId("deploy-submit").click();

  // The new application's own page: kind, version, its VM on pm-2 with the 4 partitions, running.
  await expect(page).toHaveURL(new RegExp(`/applications/${APP}$`), { timeout: 30_000 });
  await expect(page.getByTestId("app-page-title")).toHaveText(APP);
  await expect(page.getByTestId("app-page-kind")).toHaveText("pagerank");
  await expect(page.getByTestId("app-page-version")).toHaveText("1.0.0");
  await expect(page.getByTestId(`app-vm-state-${VM}`)).toHaveAttribute("data-status", "running", { timeout: OPERATION_DEADLINE });
  await expect(page.getByTestId(`app-vm-host-${VM}`)).toHaveText("pm-2");
  await expect(page.getByTestId(`app-vm-vcpus-${VM}`)).toHaveText("2");
  await expect(page.getByTestId(`app-vm-memory-${VM}`)).toHaveText("2 GiB");
  await expect(page.getByTestId(`app-vm-actors-${VM}`)).toHaveText("4");
  const deployRow = page.getByTestId("app-op-row").first();
  await expect(deployRow).toHaveAttribute("data-kind", "deploy");
  await expect(deployRow).toHaveAttribute("data-status", "succeeded", { timeout: OPERATION_DEADLINE });
  await expect(page.getByTestId("app-page-status-text")).toHaveAttribute("data-status", "running");
  const running = await expectIterationRising(page, 0);
  await expectIterationRising(page, running);
  await expect(page.getByTestId("app-start")).toBeDisabled();
  await expect(page.getByTestId("app-start-why")).toHaveText("Only a stopped application can be started (it is running)");
  await keepScreenshot(page, "application-running");

  // Stop: its actors hold, its VM stays, and the progress holds.
  await page.getByTestId("app-stop").click();
  await expectActionSucceeded(page, "stop");
  await expect(page.getByTestId("app-page-status-text")).toHaveAttribute("data-status", "stopped");
  await expect(page.getByTestId(`app-vm-state-${VM}`)).toHaveAttribute("data-status", "running");
  await expect(page.getByTestId(`app-vm-actors-${VM}`)).toHaveText("4");
  // The last progress recorded before the hold may still be on its way: once it has settled, it stays.
  let held = -1;
  await expect(async () => {
    const settled = await iteration(page);
    await page.waitForTimeout(1500);
    held = await iteration(page);
    expect(held).toBe(settled);
  }).toPass({ timeout: 30_000 });
  await page.waitForTimeout(3000);
  expect(await iteration(page)).toBe(held);
  await expect(page.getByTestId("app-stop")).toBeDisabled();
  await expect(page.getByTestId("app-stop-why")).toHaveText("Only a running application can be stopped (it is stopped)");

  // Start: the progress rises again from where it held.
  await page.getByTestId("app-start").click();
  await expectActionSucceeded(page, "start");
  await expect(page.getByTestId("app-page-status-text")).toHaveAttribute("data-status", "running");
  await expectIterationRising(page, held);

  // A periodic checkpoint (every 30 s by default) is listed with its cut's progress, size and checksum.
  const checkpoint = page.locator('[data-testid^="app-checkpoint-"]').first();
  await expect(checkpoint).toBeVisible({ timeout: 90_000 });
  const sequence = Number(await checkpoint.getAttribute("data-sequence"));
  const cut = Number(await checkpoint.getAttribute("data-iteration"));
  expect(cut).toBeGreaterThan(0);
  expect(cut).toBeLessThanOrEqual(await iteration(page));
  await expect(checkpoint).toHaveAttribute("data-reason", "periodic");
  await expect(checkpoint.locator('td[data-label="Actors"]')).toHaveText("4");
  await expect(checkpoint.locator('td[data-label="Progress"]')).toHaveText(cut.toLocaleString("en-US"));
  await expect(checkpoint.locator('td[data-label="Size"]')).toHaveText(/^\d+(\.\d)? (B|KiB|MiB)$/);
  await expect(checkpoint.locator('td[data-label="sha256"]')).toHaveText(/^[0-9a-f]{12}$/);
  await expect(checkpoint.locator('td[data-label="Taken at"]')).toHaveText(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC/);
  // Far enough past the checkpoint that going back to it shows.
  const before = await expectIterationRising(page, cut + 200);

  // Restore from that checkpoint: the progress goes back to the cut, then rises again.
  await page.getByTestId(`app-restore-${sequence}`).click();
  const confirm = page.getByTestId("app-restore-confirm");
  await expect(confirm).toContainText(`Restore ${APP} from checkpoint #${sequence}?`);
  await expect(confirm).toContainText(`goes back to that checkpoint's progress: iteration ${cut.toLocaleString("en-US")}`);
  await page.getByTestId("confirm-ok").click();
  await expect(page.getByTestId("app-restore-pending")).toHaveAttribute("data-sequence", String(sequence));
  await expect(page.getByTestId("app-restore-pending")).toContainText("requested by admin");
  await expect
    .poll(() => iteration(page), { timeout: 60_000, message: "the restore takes the progress back to the checkpoint" })
    .toBeLessThan(before);
  await expect(page.getByTestId("app-restore-pending")).toHaveCount(0, { timeout: 30_000 });
  await expect(page.getByTestId("app-page-status-text")).toHaveAttribute("data-status", "running");
  await expectIterationRising(page, await iteration(page));
  await expect(page.getByTestId(`app-vm-actors-${VM}`)).toHaveText("4");

  // Automatic recovery off, kept across a reload, and on again.
  const auto = page.getByTestId("app-auto-recovery");
  await expect(auto).toBeChecked();
  await auto.uncheck();
  await expect(auto).not.toBeChecked();
  await expect(page.getByTestId("app-auto-recovery-why")).toContainText("Off: a lost VM leaves the application degraded");
  await page.reload();
  await expect(page.getByTestId("app-auto-recovery")).not.toBeChecked({ timeout: 30_000 });
  await page.getByTestId("app-auto-recovery").check();
  await expect(page.getByTestId("app-auto-recovery")).toBeChecked();
  await page.reload();
  await expect(page.getByTestId("app-auto-recovery")).toBeChecked({ timeout: 30_000 });
  await keepScreenshot(page, "application-recovery");

  // Delete, after a confirmation that names the application and what happens.
  await page.getByTestId("app-delete").click();
  const del = page.getByTestId("app-delete-confirm");
  await expect(del).toContainText(`Delete ${APP}?`);
  await expect(del).toContainText(`its VMs (${VM}) are destroyed`);
  await expect(del).toContainText("kept in History");
  await page.getByTestId("confirm-ok").click();
  await expectActionSucceeded(page, "delete");
  await expect(page.getByTestId("app-page-deleted")).toBeVisible({ timeout: 30_000 });
  await expect(page.getByTestId("app-vms-none")).toBeVisible();
  await expect(page.getByTestId("app-op-row")).toHaveCount(4);
  expect(await page.getByTestId("app-op-row").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-kind")))).toEqual([
    "delete",
    "start",
    "stop",
    "deploy",
  ]);

  // Gone from the list; heat still there.
  await page.getByTestId("nav-applications").click();
  await expect(page.getByTestId("apps-row-heat")).toBeVisible();
  await expect(page.getByTestId(`apps-row-${APP}`)).toHaveCount(0);

  // Its operations stay in History, each succeeded.
  await page.getByTestId("nav-history").click();
  const rows = page.getByTestId("history-row").filter({ hasText: VM });
  await expect(rows).toHaveCount(4);
  expect(await rows.evaluateAll((r) => r.map((row) => [row.getAttribute("data-kind"), row.getAttribute("data-status")]))).toEqual(
    [
      ["delete", "succeeded"],
      ["start", "succeeded"],
      ["stop", "succeeded"],
      ["deploy", "succeeded"],
    ],
  );
});

async function viewerPage(browser: Browser, admin: Page): Promise<Page> {
  const created = await admin.request.post("/api/trpc/users.create", {
    data: { json: { name: "vinny", role: "viewer", password: "vinny password 1" } },
  });
  expect(created.status()).toBe(200);
  const page = await (await browser.newContext()).newPage();
  await signIn(page, "vinny", "vinny password 1");
  return page;
}

test("a viewer sees an application's page with every action disabled and the reason beside it", async ({ browser, page }) => {
  await signIn(page);
  const viewer = await viewerPage(browser, page);
  await viewer.goto("/applications");
  await expect(viewer.getByTestId("deploy-button")).toBeDisabled();
  await expect(viewer.getByTestId("deploy-why")).toHaveText("Your role is viewer: an operator deploys applications");
  await viewer.getByTestId("apps-link-heat").click();
  await expect(viewer).toHaveURL(/\/applications\/heat$/);
  await expect(viewer.getByTestId("app-page-kind")).toHaveText("heat");
  await expect(viewer.getByTestId("app-page-version")).toHaveText("1.0.0");
  // All 64 of heat's actors, wherever the desktop specs left its VMs.
  await expect
    .poll(async () =>
      (await viewer.locator('td[data-testid^="app-vm-actors-"]').allTextContents()).reduce((n, t) => n + Number(t), 0),
    )
    .toBe(64);
  for (const action of ["stop", "start", "delete"]) {
    await expect(viewer.getByTestId(`app-${action}`)).toBeDisabled();
    await expect(viewer.getByTestId(`app-${action}-why`)).toHaveText(
      "Your role is viewer: an operator stops, starts and deletes applications",
    );
  }
  await expect(viewer.getByTestId("app-upgrade")).toBeDisabled();
  await expect(viewer.getByTestId("app-upgrade-why")).toHaveText("Your role is viewer: an operator upgrades applications");
  await expect(viewer.getByTestId("app-auto-recovery")).toBeDisabled();
  await expect(viewer.getByTestId("app-auto-recovery-why")).toHaveText(
    "Your role is viewer: an operator changes recovery and restores checkpoints",
  );
  await keepScreenshot(viewer, "application-viewer");
  // The topology's application card leads to the same page.
  await viewer.getByTestId("nav-topology").click();
  await viewer.getByTestId("app-link-heat").click();
  await expect(viewer).toHaveURL(/\/applications\/heat$/);
  await expect(viewer.getByTestId("app-page-title")).toHaveText("heat");
});

test("an admin registers an application bundle on the Admin page; an operator deploys it from the console and deletes it", async ({
  page,
}) => {
  // PageRank built as its own kind ("ranks"), as `malleo bundle build` builds a folder.
  const dir = mkdtempSync(path.join(os.tmpdir(), "malleo-e2e-bundle-"));
  const file = path.join(dir, "ranks.mjs");
  await buildBundle(path.resolve("applications/pagerank/test-fixtures/ranks-bundle.ts"), file);

  await signIn(page);
  await page.getByTestId("nav-admin").click();
  // Not a bundle: refused with the reason, nothing listed.
  await page
    .getByTestId("bundle-file")
    .setInputFiles({ name: "not.mjs", mimeType: "application/javascript", buffer: Buffer.from("throw new Error('no');") });
  await page.getByTestId("bundle-register").click();
  await expect(page.getByTestId("bundle-error")).toBeVisible({ timeout: 30_000 });
  await expect(page.locator('[data-testid="bundle-row"][data-kind="ranks"]')).toHaveCount(0);
  await page.getByTestId("bundle-file").setInputFiles(file);
  await page.getByTestId("bundle-register").click();
  await expect(page.getByTestId("bundle-registered")).toContainText("ranks", { timeout: 30_000 });
  await expect(page.locator('[data-testid="bundle-row"][data-kind="ranks"]')).toContainText("2.0.0");
  rmSync(dir, { recursive: true, force: true });

  const app = "ranks-e2e";
  await page.getByTestId("nav-applications").click();
  await page.getByTestId("deploy-button").click();
  const dialog = page.getByTestId("deploy-dialog");
  await dialog.getByTestId("deploy-kind").selectOption("ranks");
  await expect(dialog.getByTestId("deploy-version")).toHaveValue("2.0.0");
  await dialog.getByTestId("deploy-id").fill(app);
  await dialog.getByTestId("deploy-config-nodes").fill("500");
  await dialog.getByTestId("deploy-config-partitions").fill("4");
  await dialog.getByTestId("deploy-vm-host-0").selectOption("pm-2");
  await dialog.getByTestId("deploy-vm-vcpus-0").fill("2");
  await dialog.getByTestId("deploy-vm-memory-0").fill("2048");
  await dialog.getByTestId("deploy-submit").click();
  await expect(page).toHaveURL(new RegExp(`/applications/${app}$`), { timeout: 30_000 });
  await expect(page.getByTestId("app-page-kind")).toHaveText("ranks");
  await expect(page.getByTestId(`app-vm-state-${app}-1`)).toHaveAttribute("data-status", "running", {
    timeout: OPERATION_DEADLINE,
  });
  await expect(page.getByTestId(`app-vm-actors-${app}-1`)).toHaveText("4");
  // Its actors run in the theater from the delivered bundle: the application makes progress.
  await expect.poll(() => iteration(page), { timeout: 60_000, message: `${app}'s iteration should rise` }).toBeGreaterThan(0);

  await page.getByTestId("app-delete").click();
  await page.getByTestId("confirm-ok").click();
  await expectActionSucceeded(page, "delete");
  await expect(page.getByTestId("app-page-deleted")).toBeVisible({ timeout: 30_000 });
});

/** Registers a tally version (apps/worker's upgrade fixtures) on the Admin page, built as `malleo bundle build` builds. */
async function registerTally(page: Page, dir: string, fixture: 1 | 2 | 3 | 5): Promise<void> {
  const file = path.join(dir, `tally-v${fixture}.mjs`);
  await buildBundle(path.resolve(`apps/worker/src/test-fixtures/tally-v${fixture}.ts`), file);
  await page.getByTestId("nav-admin").click();
  await page.getByTestId("bundle-file").setInputFiles(file);
  await page.getByTestId("bundle-register").click();
  const version = fixture === 5 ? "2.1.0" : `${fixture}.0.0`;
  await expect(page.getByTestId("bundle-registered")).toContainText(`Registered tally ${version}`, { timeout: 30_000 });
}

/** The versions the upgrade dialog offers, in order. */
const offered = (dialog: Locator) =>
  dialog
    .getByTestId("upgrade-version")
    .locator("option")
    .evaluateAll((options) => options.map((o) => (o as HTMLOptionElement).value));

test("an operator upgrades a bundle application to another registered version from its page; an incompatible one is refused, nothing changed", async ({
  page,
}) => {
  // Three bundles registered (each loaded and checked in a child process), a deploy, two upgrade
  // attempts and a delete: more than the default test time on a loaded machine.
  test.slow();
  const app = "tally-e2e";
  const vm = `${app}-1`;
  const upgrades = page.locator('[data-testid="app-op-row"][data-kind="upgrade"]');
  await signIn(page);
  // An installed kind is not upgraded from the console: it changes with Malleo itself.
  await page.goto("/applications/heat");
  await expect(page.getByTestId("app-upgrade")).toBeDisabled();
  await expect(page.getByTestId("app-upgrade-why")).toHaveText(
    "heat is installed with Malleo, not a registered bundle: only a bundle application is upgraded",
  );

  // tally 1.0.0 (adds 1 per tick, state format 1), deployed onto one VM.
  const dir = mkdtempSync(path.join(os.tmpdir(), "malleo-e2e-upgrade-"));
  await registerTally(page, dir, 1);
  await page.getByTestId("nav-applications").click();
  await page.getByTestId("deploy-button").click();
  const deploy = page.getByTestId("deploy-dialog");
  await deploy.getByTestId("deploy-kind").selectOption("tally");
  await expect(deploy.getByTestId("deploy-version")).toHaveValue("1.0.0");
  await deploy.getByTestId("deploy-id").fill(app);
  await deploy.getByTestId("deploy-vm-host-0").selectOption("pm-2");
  await deploy.getByTestId("deploy-vm-vcpus-0").fill("2");
  await deploy.getByTestId("deploy-vm-memory-0").fill("2048");
  await deploy.getByTestId("deploy-submit").click();
  await expect(page).toHaveURL(new RegExp(`/applications/${app}$`), { timeout: 30_000 });
  await expect(page.getByTestId(`app-vm-state-${vm}`)).toHaveAttribute("data-status", "running", { timeout: OPERATION_DEADLINE });
  await expect(page.getByTestId(`app-vm-actors-${vm}`)).toHaveText("4");
  await expect(page.getByTestId("app-page-version")).toHaveText("1.0.0");
  await expect(page.getByTestId("app-upgrade")).toBeDisabled();
  await expect(page.getByTestId("app-upgrade-why")).toHaveText(
    "No other version of tally is registered: an admin registers one on the Admin page",
  );

  // 2.0.0 (adds 10 per tick; state format 2, with a migrateState) and 3.0.0 (format 3, none).
  await registerTally(page, dir, 2);
  await registerTally(page, dir, 3);
  await page.goto(`/applications/${app}`);
  await expectIterationRising(page, 0);
  await expect(page.getByTestId("app-upgrade")).toBeEnabled({ timeout: 30_000 });
  await expect(page.getByTestId("app-upgrade-why")).toHaveText(
    "Another registered version: rolled onto new VMs with each actor moved live, or the whole application restarted from a checkpoint",
  );

  // The dialog says what an upgrade does and offers every other registered version, newest first.
  await page.getByTestId("app-upgrade").click();
  const dialog = page.getByTestId("upgrade-dialog");
  await expect(dialog).toBeVisible();
  await expect(dialog.getByTestId("upgrade-running")).toHaveText("1.0.0");
  await expect(dialog).toContainText("takes a fresh checkpoint");
  await expect(dialog).toContainText("restarts the whole application");
  await expect(dialog).toContainText("migrated by the new version's migrateState when the state format changed");
  expect(await offered(dialog)).toEqual(["3.0.0", "2.0.0"]);
  await dialog.getByTestId("upgrade-version").selectOption("2.0.0");
  await expect(dialog.getByTestId("upgrade-state-note")).toHaveText(
    "State format 1 → 2: 2.0.0's migrateState rewrites each actor's checkpointed state before it resumes.",
  );
  await expect(dialog.getByTestId("upgrade-state-note")).toHaveAttribute("data-readable", "true");
  // A changed state format cannot roll (both versions would run side by side): restart, saying why.
  await expect(dialog.getByTestId("upgrade-strategy")).toHaveAttribute("data-strategy", "restart");
  await expect(dialog.getByTestId("upgrade-strategy-rolling")).toBeDisabled();
  await expect(dialog.getByTestId("upgrade-rolling-refusal")).toContainText("needs the same state format");
  await keepScreenshot(page, "upgrade-dialog");
  const before = await iteration(page);
  await dialog.getByTestId("upgrade-submit").click();

  // Followed inline like the other actions; the page then shows 2.0.0 and the progress goes on
  // from the checkpoint the upgrade took: nothing computed before it is lost.
  await expect(dialog).toHaveCount(0);
  await expectActionSucceeded(page, "upgrade");
  await expect(page.getByTestId("app-page-version")).toHaveText("2.0.0", { timeout: 30_000 });
  await expect(page.getByTestId("app-page-status-text")).toHaveAttribute("data-status", "running");
  await expect(page.getByTestId(`app-vm-actors-${vm}`)).toHaveText("4");
  const after = await iteration(page);
  expect(after).toBeGreaterThanOrEqual(before);
  const upgraded = await expectIterationRising(page, after);
  await expect(upgrades).toHaveCount(1);
  await expect(upgrades.first()).toHaveAttribute("data-status", "succeeded");

  // 3.0.0 changed the state format without a migrateState: said in the dialog, and the server's
  // refusal shown there; nothing changes.
  await page.getByTestId("app-upgrade").click();
  await expect(dialog.getByTestId("upgrade-running")).toHaveText("2.0.0");
  expect(await offered(dialog)).toEqual(["3.0.0", "1.0.0"]);
  await dialog.getByTestId("upgrade-version").selectOption("3.0.0");
  await expect(dialog.getByTestId("upgrade-state-note")).toHaveAttribute("data-readable", "false");
  await dialog.getByTestId("upgrade-submit").click();
  await expect(dialog.getByTestId("upgrade-error")).toContainText(
    "changed the state format (2 → 3) and has no migrateState: the running actors' states are incompatible",
  );
  await expect(dialog).toBeVisible();
  await dialog.getByRole("button", { name: "Cancel" }).click();
  await expect(dialog).toHaveCount(0);
  await expect(page.getByTestId("app-page-version")).toHaveText("2.0.0");
  await expect(upgrades).toHaveCount(1);
  await expect(page.getByTestId("app-action-op")).toHaveAttribute("data-kind", "upgrade");
  const stillRising = await expectIterationRising(page, upgraded);

  // 2.1.0 (2.0.0's state format, 100 per tick): rolling is what the dialog chooses — a new VM
  // beside the old one on the new version, every actor moved to it live, the old VM destroyed.
  await registerTally(page, dir, 5);
  rmSync(dir, { recursive: true, force: true });
  await page.goto(`/applications/${app}`);
  await page.getByTestId("app-upgrade").click();
  await dialog.getByTestId("upgrade-version").selectOption("2.1.0");
  await expect(dialog.getByTestId("upgrade-strategy")).toHaveAttribute("data-strategy", "rolling");
  await expect(dialog.getByTestId("upgrade-strategy-rolling")).toBeChecked();
  await expect(dialog.getByTestId("upgrade-strategy-text")).toContainText("moves every actor to its new VM live");
  await dialog.getByTestId("upgrade-submit").click();
  await expect(dialog).toHaveCount(0);
  await expectActionSucceeded(page, "upgrade");
  await expect(page.getByTestId("app-page-version")).toHaveText("2.1.0", { timeout: 30_000 });
  await expect(page.getByTestId(`app-vm-state-${vm}`)).toHaveCount(0, { timeout: 30_000 });
  const actorCounts = page.locator('[data-testid^="app-vm-actors-"]');
  await expect(actorCounts).toHaveCount(1);
  await expect(actorCounts).toHaveText("4");
  await expect(upgrades).toHaveCount(2);
  await expect(upgrades.first()).toHaveAttribute("data-status", "succeeded");
  await expectIterationRising(page, stillRising);

  // Deleted, so that the phone spec after this one finds the hosts as before.
  await page.getByTestId("app-delete").click();
  await page.getByTestId("confirm-ok").click();
  await expectActionSucceeded(page, "delete");
  await expect(page.getByTestId("app-page-deleted")).toBeVisible({ timeout: 30_000 });
});
