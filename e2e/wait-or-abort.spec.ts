import { rmSync, writeFileSync } from "node:fs";
import { expect, test, type Browser, type Page } from "@playwright/test";
import { apiMutate, heatVms, keepScreenshot, signIn } from "./helpers";
import { HOLD_READY_FILE } from "./paths";

/**
 * A ready barrier that times out is answered from the operation page: "Abort" rolls the split
 * back, "Wait longer" lets it go on once the actors get ready; a viewer is told why neither is
 * offered. The worker's test hook (MALLEO_TEST_HOLD_READY_FILE) keeps every actor from its safe
 * point while HOLD_READY_FILE exists. Runs after the other specs (file order) and starts from
 * whichever heat VM holds all 64 actors; the extend case leaves that VM split in two.
 */

test.describe.configure({ mode: "serial" });

const VIEWER = { name: "wendy", password: "viewer-password-2" };
const OPERATION_DEADLINE = 120_000;

/** Splits the heat VM that holds all 64 actors onto the two other hosts, with every actor held back; returns the operation id. */
async function splitWithActorsHeldBack(page: Page): Promise<string> {
  const source = (await heatVms(page)).find((v) => v.state === "running" && v.actorCount === 64 && !v.lockedBy);
  expect(source, "a heat VM holding all 64 actors").toBeTruthy();
  const targetHostIds = ["pm-1", "pm-2", "pm-3"].filter((h) => h !== source!.hostId).slice(0, 2);
  writeFileSync(HOLD_READY_FILE, "");
  const op = await apiMutate<{ id: string }>(page, "operations.split", {
    vmId: source!.id,
    count: 2,
    targetHostIds,
    transfer: "barrier",
  });
  await page.goto(`/operations/${op.id}`);
  // The barrier waits its whole timeout (the worker's default) before it asks the operator.
  await expect(page.getByTestId("op-waiting")).toContainText("ready barrier timed out after", { timeout: OPERATION_DEADLINE });
  await expect(page.getByTestId("op-waiting")).toContainText("not ready: uan://heat/");
  await expect(page.getByTestId("op-status")).toHaveAttribute("data-status", "running");
  return op.id;
}

async function newViewerPage(browser: Browser): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  await signIn(page, VIEWER.name, VIEWER.password);
  return page;
}

test.afterEach(() => rmSync(HOLD_READY_FILE, { force: true }));

test("an admin creates a viewer for this spec", async ({ page }) => {
  await signIn(page);
  await apiMutate(page, "users.create", { name: VIEWER.name, role: "viewer", password: VIEWER.password });
});

test("Abort at a timed-out ready barrier rolls the split back; a viewer is told why it is not offered", async ({
  page,
  browser,
}) => {
  await signIn(page);
  const id = await splitWithActorsHeldBack(page);
  await expect(page.getByTestId("op-ready-extend")).toBeEnabled();
  await expect(page.getByTestId("op-ready-abort")).toBeEnabled();
  await keepScreenshot(page, "ready-barrier-timed-out");

  const viewer = await newViewerPage(browser);
  await viewer.goto(`/operations/${id}`);
  await expect(viewer.getByTestId("op-waiting")).toContainText("ready barrier timed out");
  await expect(viewer.getByTestId("op-ready-why")).toHaveText(
    "An operator can wait longer or abort; you are signed in as a viewer.",
  );
  await expect(viewer.getByTestId("op-ready-abort")).toHaveCount(0);
  await expect(viewer.getByTestId("op-ready-extend")).toHaveCount(0);

  await page.getByTestId("op-ready-abort").click();
  await page.getByTestId("confirm-ok").click();
  await expect(page.getByTestId("op-status")).toHaveAttribute("data-status", "rolled_back", { timeout: OPERATION_DEADLINE });
  await expect(page.getByTestId("op-error")).toContainText("aborted by the operator while 64 actor(s) were not ready");
  await expect(page.getByTestId("step-ready")).toHaveAttribute("data-status", "failed");
  // Nothing moved (whichever order Ready and Provision run in, Transfer comes after both).
  await expect(page.getByTestId("step-transfer")).toHaveAttribute("data-status", "skipped");
  await expect(page.getByTestId("op-waiting")).toHaveCount(0);
  await expect(page.getByTestId("op-log")).toContainText("chose to abort at the ready barrier");
  // The viewer's page followed live.
  await expect(viewer.getByTestId("op-status")).toHaveAttribute("data-status", "rolled_back");
  await keepScreenshot(page, "ready-barrier-aborted");
  await viewer.context().close();
});

test("Wait longer at a timed-out ready barrier lets the split go on once the actors are ready", async ({ page }) => {
  await signIn(page);
  await splitWithActorsHeldBack(page);
  // The actors can get ready now; the operator asks them again.
  rmSync(HOLD_READY_FILE);
  await page.getByTestId("op-ready-extend").click();
  await expect(page.getByTestId("op-status")).toHaveAttribute("data-status", "succeeded", { timeout: OPERATION_DEADLINE });
  for (const step of ["validate", "ready", "provision", "checkpoint", "transfer", "resume", "cleanup"]) {
    await expect(page.getByTestId(`step-${step}`), `step ${step}`).toHaveAttribute("data-status", "succeeded");
  }
  await expect(page.getByTestId("step-ready")).toContainText("extra waits 1");
  await expect(page.getByTestId("transfer-progress")).toHaveAttribute("data-moved", "64");
  await expect(page.getByTestId("op-waiting")).toHaveCount(0);
  await expect(page.getByTestId("op-log")).toContainText("chose to wait longer at the ready barrier");
  await keepScreenshot(page, "ready-barrier-extended");
});
