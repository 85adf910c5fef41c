import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import AxeBuilder from "@axe-core/playwright";
import { test as base, expect, type Browser, type BrowserContextOptions, type Page } from "@playwright/test";
import { buildBundle } from "@malleo/sdk/bundle/build";
import { ADMIN_PASSWORD } from "./helpers";

/**
 * Every console page through axe-core at desktop and phone size, failing on any serious or
 * critical violation (each printed with its rule, impact and the elements it found); the
 * application page's communication view; focus returned to what opened a dialog. With
 * MALLEO_SCREENSHOTS=1 it also writes each page at both sizes to docs/screenshots/
 * (`<page>-desktop.png`, `<page>-phone.png`): not on every run, since live figures and times
 * change each picture and would dirty the tree.
 *
 * Its own project ("accessibility", playwright.config.ts), after every other spec, so that
 * History, Charts and the operation page show what a used console shows. Alone:
 * `npx playwright test --project accessibility --no-deps`.
 */

const SIZES: Record<"desktop" | "phone", BrowserContextOptions> = {
  desktop: { viewport: { width: 1280, height: 800 } },
  phone: { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true },
};
const SCREENSHOTS = process.env.MALLEO_SCREENSHOTS === "1";
const SCREENSHOT_DIR = "docs/screenshots";
/** The rules of WCAG 2.1 A and AA that axe checks. */
const WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"];

interface ConsolePage {
  name: string;
  path: (page: Page) => Promise<string>;
  /** Shown once the page's data has drawn. */
  ready: string;
  signedOut?: boolean;
}

const fixed = (path: string) => () => Promise.resolve(path);

const PAGES: ConsolePage[] = [
  { name: "sign-in", path: fixed("/sign-in"), ready: '[data-testid="sign-in-submit"]', signedOut: true },
  { name: "topology", path: fixed("/"), ready: "article.vm" },
  { name: "charts", path: fixed("/charts"), ready: '[data-testid="chart-throughput"] .chart__body' },
  { name: "history", path: fixed("/history"), ready: '[data-testid="audit-row"]' },
  { name: "admin", path: fixed("/admin"), ready: '[data-testid="hosts-table"] tbody tr' },
  { name: "applications", path: fixed("/applications"), ready: '[data-testid="apps-table"] tbody tr' },
  { name: "application", path: fixed("/applications/heat"), ready: '[data-testid="app-comm-heatmap"]' },
  { name: "operation", path: async (page) => `/operations/${await someOperation(page)}`, ready: '[data-testid="op-status"]' },
  { name: "not-found", path: fixed("/no-such-page"), ready: '[data-testid="not-found"]' },
];

async function signIn(page: Page): Promise<void> {
  await page.goto("/sign-in");
  await page.getByTestId("sign-in-name").fill("admin");
  await page.getByTestId("sign-in-password").fill(ADMIN_PASSWORD);
  await page.getByTestId("sign-in-submit").click();
  await expect(page.getByTestId("user-name")).toHaveText("admin", { timeout: 30_000 });
}

async function newPage(browser: Browser, size: keyof typeof SIZES, signedIn: boolean): Promise<Page> {
  const page = await (await browser.newContext(SIZES[size])).newPage();
  if (signedIn) await signIn(page);
  return page;
}

type Size = keyof typeof SIZES;
/**
 * One browser context per size (and signed in or not), opened and signed in once and shared by
 * every test of this file that uses it: each test navigates where it starts, and nothing here
 * keeps state in the browser. Worker-scoped, so a failed test (which restarts the worker) gets
 * fresh ones.
 */
interface Consoles {
  page(size: Size, signedIn?: boolean): Promise<Page>;
}

const test = base.extend<object, { consoles: Consoles }>({
  consoles: [
    async ({ browser }, use) => {
      const opened = new Map<string, Promise<Page>>();
      await use({
        page(size, signedIn = true) {
          const key = `${size}:${signedIn}`;
          let page = opened.get(key);
          if (!page) {
            page = newPage(browser, size, signedIn);
            opened.set(key, page);
            page.catch(() => opened.delete(key));
          }
          return page;
        },
      });
      for (const page of opened.values()) await (await page.catch(() => undefined))?.context().close();
    },
    { scope: "worker" },
  ],
});

async function trpcGet<T>(page: Page, procedure: string, input: unknown): Promise<T> {
  const r = await page.request.get(`/api/trpc/${procedure}?input=${encodeURIComponent(JSON.stringify({ json: input }))}`);
  expect(r.ok(), `${procedure}: ${r.status()}`).toBe(true);
  return ((await r.json()) as { result: { data: { json: T } } }).result.data.json;
}

/** The newest operation; on a console that never ran one (this spec alone), a split of heat's first VM. */
async function someOperation(page: Page): Promise<string> {
  const { items } = await trpcGet<{ items: { id: string }[] }>(page, "operations.list", { limit: 1 });
  if (items[0]) return items[0].id;
  type Vm = { id: string; applicationId: string; state: string };
  const topology = await trpcGet<{ hosts: { vms: Vm[] }[] }>(page, "topology.get", undefined);
  const vm = topology.hosts.flatMap((h) => h.vms).find((v) => v.applicationId === "heat" && v.state === "running")!;
  const r = await page.request.post("/api/trpc/operations.split", {
    data: { json: { vmId: vm.id, count: 2, targetHostIds: ["pm-2", "pm-3"] } },
  });
  expect(r.ok(), `split: ${await r.text()}`).toBe(true);
  return ((await r.json()) as { result: { data: { json: { id: string } } } }).result.data.json.id;
}

/** The page is no wider than the screen: nothing to scroll sideways. */
async function expectNoSidewaysScroll(page: Page, what: string): Promise<void> {
  const [scrollWidth, innerWidth] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  expect(scrollWidth, `${what}: ${scrollWidth} px of page in a ${innerWidth} px screen`).toBeLessThanOrEqual(innerWidth);
}

/** The serious and critical violations on the page as it is now, one line each. */
async function seriousViolations(page: Page, name: string): Promise<string[]> {
  const results = await new AxeBuilder({ page }).withTags(WCAG_TAGS).analyze();
  return results.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .flatMap((v) => v.nodes.map((n) => `${name}: ${v.id} (${v.impact}) at ${n.target.join(" ")} — ${v.help}`));
}

for (const size of ["desktop", "phone"] as const) {
  test(`every page has no serious or critical accessibility violation (${size})`, async ({ consoles }) => {
    const signedIn = await consoles.page(size);
    const signedOut = await consoles.page(size, false);
    if (SCREENSHOTS) mkdirSync(SCREENSHOT_DIR, { recursive: true });
    const found: string[] = [];
    for (const p of PAGES) {
      const page = p.signedOut ? signedOut : signedIn;
      await page.goto(await p.path(signedIn));
      await expect(page.locator(p.ready).first()).toBeVisible({ timeout: 45_000 });
      await page.evaluate(() => document.fonts.ready);
      found.push(...(await seriousViolations(page, `${p.name} (${size})`)));
      if (size === "phone") await expectNoSidewaysScroll(page, p.name);
      if (SCREENSHOTS)
        await page.screenshot({ path: `${SCREENSHOT_DIR}/${p.name}-${size}.png`, fullPage: true, animations: "disabled" });
    }
    for (const line of found) console.log(line);
    expect(found, found.join("\n")).toEqual([]);
  });

  test(`the application page shows its communication between VMs and between actor groups, with a table (${size})`, async ({
    consoles,
  }) => {
    const page = await consoles.page(size);
    await page.goto("/applications/heat");
    const heatmap = page.getByTestId("app-comm-heatmap");
    await expect(heatmap).toBeVisible({ timeout: 45_000 });
    await expect(heatmap).toHaveAttribute("data-mode", "vm");
    const vms = Number(await heatmap.getAttribute("data-size"));
    expect(vms).toBeGreaterThanOrEqual(1);
    // Cross + inside = all: the two shares add up to 100 %.
    const share = Number(await page.getByTestId("app-comm-cross").getAttribute("data-share"));
    expect(share).toBeGreaterThanOrEqual(0);
    expect(share).toBeLessThanOrEqual(1);
    if (vms === 1) expect(share).toBe(0);
    await expect(page.getByTestId("app-comm-advice")).toContainText(vms === 1 ? "All messages stay inside" : "cross VMs");
    await expect(page.getByTestId("app-chart-throughput")).toBeVisible();
    await expect(page.getByTestId("app-comm-vms-over-time").locator("li").first()).toContainText("VM");

    // heat's 64 actors in 16 groups of 4 contiguous ordinals: slabs talk to their neighbours only,
    // so the busiest cells sit on and beside the diagonal.
    await page.getByTestId("app-comm-mode-group").check();
    await expect(heatmap).toHaveAttribute("data-mode", "group");
    await expect(heatmap).toHaveAttribute("data-size", "16");
    expect(Number(await page.getByTestId("app-comm-cell-0-1").getAttribute("data-rate"))).toBeGreaterThan(0);
    expect(Number(await page.getByTestId("app-comm-cell-0-8").getAttribute("data-rate"))).toBe(0);

    // The table alternative holds the same pairs, busiest first.
    await page.getByTestId("app-comm-table-toggle").locator("summary").click();
    const rows = page.getByTestId("app-comm-row");
    await expect(rows.first()).toBeVisible();
    expect(await rows.count()).toBeGreaterThan(16);
    await expect(rows.first()).toContainText("msg/s");
    await expectNoSidewaysScroll(page, "the application page with its communication table open");
    const found = await seriousViolations(page, `application, actor groups and table (${size})`);
    expect(found, found.join("\n")).toEqual([]);
  });
}

interface Application {
  id: string;
  kind: string;
  version: string | null;
  status: string;
}

/**
 * A running bundle application with another version registered, whose page offers Upgrade; on a
 * console without one (the specs before this one delete theirs), tally 1.0.0 and 2.0.0 (apps/worker's
 * upgrade fixtures) registered and 1.0.0 deployed onto one small VM.
 */
async function upgradableApplication(page: Page): Promise<string> {
  const kinds = await trpcGet<{ kind: string; source: string; versions: string[] }[]>(page, "applications.kinds", undefined);
  const upgradable = (a: Application) =>
    a.status === "running" && kinds.some((k) => k.kind === a.kind && k.source === "bundle" && k.versions.length > 1);
  const found = (await trpcGet<Application[]>(page, "applications.list", undefined)).find(upgradable);
  if (found) return `/applications/${found.id}`;
  const dir = mkdtempSync(path.join(os.tmpdir(), "malleo-a11y-upgrade-"));
  try {
    for (const version of [1, 2]) {
      const file = path.join(dir, `tally-v${version}.mjs`);
      await buildBundle(path.resolve(`apps/worker/src/test-fixtures/tally-v${version}.ts`), file);
      const r = await page.request.post("/api/applications/bundles", {
        headers: { "content-type": "application/javascript", origin: new URL(page.url()).origin },
        data: readFileSync(file),
      });
      expect(r.ok(), `register tally ${version}.0.0: ${await r.text()}`).toBe(true);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const id = "tally-a11y";
  const deployed = await page.request.post("/api/trpc/applications.deploy", {
    data: {
      json: {
        applicationId: id,
        kind: "tally",
        version: "1.0.0",
        config: { actors: 2, intervalMs: 50 },
        vms: [{ hostId: "pm-1", vcpus: 1, memoryMiB: 512 }],
      },
    },
  });
  expect(deployed.ok(), `deploy ${id}: ${await deployed.text()}`).toBe(true);
  await expect
    .poll(async () => (await trpcGet<Application[]>(page, "applications.list", undefined)).find((a) => a.id === id)?.status, {
      timeout: 120_000,
      message: `${id} should be running`,
    })
    .toBe("running");
  return `/applications/${id}`;
}

/** Dialogs open over their page: each checked as it opens, then closed with Escape (nothing submitted). */
const DIALOGS: { name: string; path: (page: Page) => Promise<string>; open: string; dialog: string }[] = [
  { name: "split dialog", path: fixed("/"), open: '[data-testid^="split-button-"]:enabled', dialog: "split-dialog" },
  { name: "deploy dialog", path: fixed("/applications"), open: '[data-testid="deploy-button"]:enabled', dialog: "deploy-dialog" },
  {
    name: "delete confirmation",
    path: fixed("/applications/heat"),
    open: '[data-testid="app-delete"]:enabled',
    dialog: "app-delete-confirm",
  },
  { name: "upgrade dialog", path: upgradableApplication, open: '[data-testid="app-upgrade"]:enabled', dialog: "upgrade-dialog" },
];

for (const size of ["desktop", "phone"] as const) {
  test(`every dialog has no serious or critical accessibility violation (${size})`, async ({ consoles }) => {
    const page = await consoles.page(size);
    const found: string[] = [];
    for (const d of DIALOGS) {
      await page.goto(await d.path(page));
      const opener = page.locator(d.open).first();
      await expect(opener).toBeVisible({ timeout: 30_000 });
      await opener.click();
      await expect(page.getByTestId(d.dialog)).toBeVisible();
      found.push(...(await seriousViolations(page, `${d.name} (${size})`)));
      if (size === "phone") await expectNoSidewaysScroll(page, d.name);
      await page.keyboard.press("Escape");
      await expect(page.getByTestId(d.dialog)).toHaveCount(0);
    }
    for (const line of found) console.log(line);
    expect(found, found.join("\n")).toEqual([]);
  });
}

test("a dialog opened from the keyboard gives focus back to its button when it closes", async ({ consoles }) => {
  const page = await consoles.page("desktop");
  await page.goto("/");
  const split = page.locator('[data-testid^="split-button-"]:enabled').first();
  await expect(split).toBeVisible({ timeout: 30_000 });
  await split.focus();
  await page.keyboard.press("Enter");
  await expect(page.locator("dialog[open]")).toBeVisible();
  await page.keyboard.press("Escape");
  await expect(page.locator("dialog[open]")).toHaveCount(0);
  await expect(split).toBeFocused();
});
