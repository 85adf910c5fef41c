import { expect, test } from "@playwright/test";
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
    await expect
      .poll(
        async () => {
          await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
          return last.count();
        },
        { timeout: 30_000, message: "scrolling to the bottom renders the last VM" },
      )
      .toBe(1);
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
