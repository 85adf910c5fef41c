import { expect, test, type Page } from "@playwright/test";
import { keepScreenshot, settledValue, signIn } from "./helpers";

/**
 * Every application's whole lifecycle from the browser (the "applications" project in
 * playwright.config.ts, run after the desktop specs): for heat, the crawler and PageRank, an
 * operator deploys it from the Applications page onto one small VM, watches it run, splits that
 * VM in two and merges the halves back from the actions menu of its row on the application's
 * page, stops it, starts it and deletes it. Through the split and the merge the application's
 * invariant as the console shows it holds: its actor count stays the same and its progress keeps
 * rising. Each application has an id no other spec uses and is deleted at the end, which frees
 * the hosts' capacity it took for the specs after this one.
 */

const OPERATION_DEADLINE = 120_000;

interface Kind {
  kind: string;
  /** Its application id (and its VMs' name prefix): used by no other spec. */
  id: string;
  /** A small configuration, typed into the deploy form's fields. */
  config: Record<string, string>;
  /** The actors that configuration makes. */
  actors: number;
}

const KINDS: Kind[] = [
  { kind: "heat", id: "lc-heat", config: { width: "16", height: "16", actors: "4" }, actors: 4 },
  // A crawl slow enough (every page answers after 100 ms, one fetch in flight per partition) to
  // last through the split and the merge: its progress, pages fetched, must keep rising.
  {
    kind: "crawler",
    id: "lc-crawler",
    config: { pages: "20000", slowEvery: "1", slowMs: "100", partitions: "4", politeness: "1" },
    actors: 4,
  },
  { kind: "pagerank", id: "lc-pagerank", config: { nodes: "500", partitions: "4" }, actors: 4 },
];

async function iteration(page: Page): Promise<number> {
  return Number(await page.getByTestId("app-page-iteration").getAttribute("data-value"));
}

/** The progress shown on the application's page rises above `above` (live, no reload); returns it. */
async function expectProgressRising(page: Page, id: string, above: number): Promise<number> {
  await expect
    .poll(() => iteration(page), { timeout: 60_000, message: `${id}'s progress should rise above ${above}` })
    .toBeGreaterThan(above);
  return iteration(page);
}

/** The names of the application's VMs in its page's VM table. */
async function vmNames(page: Page): Promise<string[]> {
  return page
    .getByTestId("app-vms")
    .locator("tbody tr")
    .evaluateAll((rows) => rows.map((r) => r.getAttribute("data-testid")!.replace(/^app-vm-/, "")));
}

/** Its VMs are `count`, each running and unlocked, holding `actors` actors between them. */
async function expectVms(page: Page, count: number, actors: number): Promise<string[]> {
  const rows = page.getByTestId("app-vms").locator("tbody tr");
  await expect(rows).toHaveCount(count, { timeout: 30_000 });
  const names = await vmNames(page);
  for (const name of names) {
    await expect(page.getByTestId(`app-vm-state-${name}`)).toHaveAttribute("data-status", "running", { timeout: 30_000 });
    await expect(page.getByTestId(`app-vm-${name}`).locator(".badge--lock")).toHaveCount(0, { timeout: 30_000 });
  }
  await expect
    .poll(
      async () => (await page.locator('td[data-testid^="app-vm-actors-"]').allTextContents()).reduce((n, t) => n + Number(t), 0),
      {
        timeout: 30_000,
        message: "the actor count is unchanged",
      },
    )
    .toBe(actors);
  return names;
}

/** On the operation page the split or merge just submitted: succeeded; returns its planned target names. */
async function expectOperationSucceeded(page: Page, kind: string): Promise<string[]> {
  await expect(page).toHaveURL(/\/operations\/[0-9a-f-]{36}$/, { timeout: 30_000 });
  await expect(page.getByTestId("op-status")).toHaveAttribute("data-status", "succeeded", { timeout: OPERATION_DEADLINE });
  const targets = await page.getByTestId("plan-target").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-name")!));
  expect(targets, `the ${kind}'s targets`).toHaveLength(kind === "split" ? 2 : 1);
  return targets;
}

/** A stop, start or delete from the page's actions, followed inline until it succeeded. */
async function expectActionSucceeded(page: Page, kind: string): Promise<void> {
  const op = page.getByTestId("app-action-op");
  await expect(op).toHaveAttribute("data-kind", kind);
  await expect(op).toHaveAttribute("data-status", "succeeded", { timeout: OPERATION_DEADLINE });
}

async function openApplication(page: Page, id: string): Promise<void> {
  await page.goto(`/applications/${id}`);
  await expect(page.getByTestId("app-page-title")).toHaveText(id, { timeout: 30_000 });
}

async function lifecycle(page: Page, { kind, id, config, actors }: Kind): Promise<void> {
  await signIn(page);

  const { vm, running } = await test.step("deploy onto one VM of 2 vCPUs and 2 GiB", async () => {
    await page.getByTestId("nav-applications").click();
    await expect(page.getByTestId(`apps-row-${id}`)).toHaveCount(0);
    await page.getByTestId("deploy-button").click();
    const dialog = page.getByTestId("deploy-dialog");
    await dialog.getByTestId("deploy-kind").selectOption(kind);
    await dialog.getByTestId("deploy-id").fill(id);
    for (const [field, value] of Object.entries(config)) await dialog.getByTestId(`deploy-config-${field}`).fill(value);
    await expect(dialog.getByTestId("deploy-vm-count")).toHaveValue("1");
    await dialog.getByTestId("deploy-vm-vcpus-0").fill("2");
    await dialog.getByTestId("deploy-vm-memory-0").fill("2048");
    await dialog.getByTestId("deploy-submit").click();
    await expect(page).toHaveURL(new RegExp(`/applications/${id}$`), { timeout: 30_000 });
    await expect(page.getByTestId("app-page-kind")).toHaveText(kind);
    await expect(page.getByTestId("app-op-row").first()).toHaveAttribute("data-status", "succeeded", {
      timeout: OPERATION_DEADLINE,
    });
    const [only] = await expectVms(page, 1, actors);
    await expect(page.getByTestId(`app-vm-vcpus-${only}`)).toHaveText("2");
    await expect(page.getByTestId("app-page-status-text")).toHaveAttribute("data-status", "running");
    return { vm: only!, running: await expectProgressRising(page, id, 0) };
  });

  const { halves, split } = await test.step("split its VM in two from its row's actions menu", async () => {
    await page.getByTestId(`vm-actions-${vm}`).click();
    await page.getByTestId(`vm-action-split-${vm}`).click();
    await expect(page.getByTestId("split-dialog")).toBeVisible();
    await expect(page.getByTestId("split-count")).toHaveValue("2");
    await page.getByTestId("split-submit").click();
    const targets = await expectOperationSucceeded(page, "split");
    await openApplication(page, id);
    expect((await expectVms(page, 2, actors)).sort()).toEqual([...targets].sort());
    for (const half of targets) await expect(page.getByTestId(`app-vm-vcpus-${half}`)).toHaveText("1");
    const progress = await expectProgressRising(page, id, running);
    await keepScreenshot(page, `lifecycle-${kind}-split`);
    return { halves: targets as [string, string], split: progress };
  });

  const merged = await test.step("merge the halves back from the first half's menu", async () => {
    const [first, second] = halves;
    await page.getByTestId(`vm-actions-${first}`).click();
    await page.getByTestId(`vm-action-merge-${first}`).click();
    await expect(page.getByTestId(`merge-vm-${first}`)).toBeChecked();
    await page.getByTestId(`merge-vm-${second}`).check();
    await page.getByTestId("merge-submit").click();
    const [target] = await expectOperationSucceeded(page, "merge");
    await openApplication(page, id);
    expect(await expectVms(page, 1, actors)).toEqual([target]);
    await expect(page.getByTestId(`app-vm-vcpus-${target}`)).toHaveText("2");
    await expectProgressRising(page, id, split);
    return target!;
  });

  await test.step("stop (the progress holds) and start (it rises again)", async () => {
    await page.getByTestId("app-stop").click();
    await expectActionSucceeded(page, "stop");
    await expect(page.getByTestId("app-page-status-text")).toHaveAttribute("data-status", "stopped");
    await expect(page.getByTestId(`app-vm-state-${merged}`)).toHaveAttribute("data-status", "running");
    const held = await settledValue(page, () => iteration(page), `${id}'s progress holds`);
    await page.getByTestId("app-start").click();
    await expectActionSucceeded(page, "start");
    await expect(page.getByTestId("app-page-status-text")).toHaveAttribute("data-status", "running");
    await expectProgressRising(page, id, held);
  });

  await test.step("delete: its VM destroyed, its history kept", async () => {
    await page.getByTestId("app-delete").click();
    await expect(page.getByTestId("app-delete-confirm")).toContainText(`its VMs (${merged}) are destroyed`);
    await page.getByTestId("confirm-ok").click();
    await expectActionSucceeded(page, "delete");
    await expect(page.getByTestId("app-page-deleted")).toBeVisible({ timeout: 30_000 });
    await expect(page.getByTestId("app-vms-none")).toBeVisible();
    const lived = ["delete", "start", "stop", "merge", "split", "deploy"];
    await expect(page.getByTestId("app-op-row")).toHaveCount(lived.length, { timeout: 30_000 });
    expect(await page.getByTestId("app-op-row").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-kind")))).toEqual(
      lived,
    );
    await page.getByTestId("nav-applications").click();
    await expect(page.getByTestId(`apps-row-${id}`)).toHaveCount(0);
    await page.getByTestId("nav-history").click();
    const rows = page.getByTestId("history-row").filter({ hasText: `${id}-` });
    await expect(rows).toHaveCount(lived.length, { timeout: 30_000 });
    expect(
      await rows.evaluateAll((r) => r.map((row) => [row.getAttribute("data-kind"), row.getAttribute("data-status")])),
    ).toEqual(lived.map((k) => [k, "succeeded"]));
  });
}

for (const kind of KINDS) {
  test(`an operator deploys ${kind.kind}, splits and merges its VM, stops, starts and deletes it, all from the browser`, async ({
    page,
  }) => {
    await lifecycle(page, kind);
  });
}
