import { expect, test, type Locator, type Page } from "@playwright/test";
import { seedTopology, unseedTopology } from "../bench/lib/topology-seed";
import { e2eDatabase } from "./database";
import { keepScreenshot, signIn } from "./helpers";

/**
 * The topology at scale in a real browser: 100 more hosts with 1,000 VMs and 100,000 actors
 * (seeded straight into Postgres as failed VMs, so the worker starts no theater for them) render
 * as a window over the page: the DOM holds a small fraction of the VM cards, and scrolling brings
 * the last one in. Runs last (file order) and removes what it added.
 */

const PREFIX = "zbulk-";

/** Jumps to the bottom until `target` is rendered: rows are measured as they render, so the page grows. */
async function scrollToBottomUntilRendered(page: Page, target: Locator, what: string): Promise<void> {
  await expect
    .poll(
      async () => {
        await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
        return target.count();
      },
      { timeout: 30_000, message: `scrolling to the bottom renders ${what}` },
    )
    .toBe(1);
}

test("1,000 VMs: only the rows in view are in the DOM, and scrolling reaches the last VM", async ({ page }) => {
  const db = await e2eDatabase();
  try {
    await unseedTopology(db, PREFIX);
    await seedTopology(db, { hosts: 100, vmsPerHost: 10, actorsPerVm: 100, prefix: PREFIX, vmState: "failed" });
    await signIn(page);
    await page.goto("/");
    // Hosts are ordered by id: the seeded ones ("zbulk-…") come after the demo's.
    await expect(page.getByTestId("vm-heat-1").or(page.locator("article.vm").first())).toBeVisible({ timeout: 60_000 });
    const topo = await page.request.get("/api/trpc/topology.get");
    const hosts = ((await topo.json()) as { result: { data: { json: { hosts: { vms: unknown[] }[] } } } }).result.data.json.hosts;
    expect(hosts.flatMap((h) => h.vms).length).toBeGreaterThanOrEqual(1000);
    const cards = page.locator("article.vm");
    const first = await cards.count();
    expect(first).toBeGreaterThan(0);
    expect(first).toBeLessThan(250);

    const last = page.getByTestId(`vm-${PREFIX}vm-1000`);
    await expect(last).toHaveCount(0);
    await scrollToBottomUntilRendered(page, last, "the last VM");
    await expect(last).toBeVisible();
    await expect(page.getByTestId(`vm-actors-${PREFIX}vm-1000`)).toHaveText("100");
    expect(await cards.count()).toBeLessThan(250);
    // The first hosts' VMs have left the DOM.
    await expect(page.getByTestId(`vm-${PREFIX}vm-0001`)).toHaveCount(0);
    await keepScreenshot(page, "topology-1000-vms-bottom");

    // Searching narrows the window to the match, wherever it is.
    await page.getByTestId("topology-search").fill(`${PREFIX}vm-0500`);
    await expect(page.getByTestId(`vm-${PREFIX}vm-0500`)).toBeVisible();
    await expect(cards).toHaveCount(1);
  } finally {
    await unseedTopology(db, PREFIX);
    await db.end();
  }
});

test("History at 500 operations a page renders the rows in view and scrolling reaches the oldest", async ({ page }) => {
  const db = await e2eDatabase();
  const operator = `${PREFIX}seeder`;
  try {
    await db.query("DELETE FROM operations WHERE operator = $1", [operator]);
    await db.query(
      `INSERT INTO operations (id, kind, status, input, operator, created_at, started_at, finished_at)
       SELECT gen_random_uuid(), 'split', 'succeeded', '{}', $1, t, t, t + interval '2 seconds'
         FROM (SELECT now() - i * interval '1 minute' AS t FROM generate_series(1, 500) i) s`,
      [operator],
    );
    const oldest = (
      await db.query<{ id: string }>("SELECT id::text FROM operations WHERE operator = $1 ORDER BY created_at LIMIT 1", [
        operator,
      ])
    ).rows[0]!.id;
    await signIn(page);
    await page.goto(`/history?operator=${operator}&size=500`);
    await expect(page.getByTestId("history-table")).toHaveAttribute("data-total", "500", { timeout: 30_000 });
    await expect(page.getByTestId("history-page")).toContainText("page 1 of 1");
    const rows = page.getByTestId("history-row");
    await expect(rows.first()).toBeVisible();
    expect(await rows.count()).toBeLessThan(100);
    const last = page.locator(`[data-testid="history-row"][data-id="${oldest}"]`);
    await expect(last).toHaveCount(0);
    await scrollToBottomUntilRendered(page, last, "the oldest operation");
    await expect(last).toBeVisible();
    expect(await rows.count()).toBeLessThan(100);
    await keepScreenshot(page, "history-500-bottom");
  } finally {
    await db.query("DELETE FROM operations WHERE operator = $1", [operator]);
    await db.end();
  }
});
