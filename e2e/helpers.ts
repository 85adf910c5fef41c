import { expect, type Page } from "@playwright/test";

/** The first admin's password: playwright.config.ts passes it to `npm start` as MALLEO_ADMIN_PASSWORD. */
export const ADMIN_PASSWORD = "e2e-admin-password-1";

export async function signIn(page: Page, name = "admin", password = ADMIN_PASSWORD): Promise<void> {
  await page.goto("/sign-in");
  await page.getByTestId("sign-in-name").fill(name);
  await page.getByTestId("sign-in-password").fill(password);
  await page.getByTestId("sign-in-submit").click();
  await expect(page.getByTestId("user-name")).toHaveText(name, { timeout: 30_000 });
}

/** A full-page screenshot kept with the test's artifacts (test-results/). */
export async function keepScreenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: `test-results/screenshots/${name}.png`, fullPage: true });
}

/** A tRPC query over HTTP with the page's session (superjson's plain JSON envelope). */
export async function apiQuery<T>(page: Page, path: string, input?: unknown): Promise<T> {
  const q = input === undefined ? "" : `?input=${encodeURIComponent(JSON.stringify({ json: input }))}`;
  const r = await page.request.get(`/api/trpc/${path}${q}`);
  expect(r.ok(), await r.text()).toBe(true);
  return ((await r.json()) as { result: { data: { json: T } } }).result.data.json;
}

/** A VM as topology.get lists it: the fields the specs read. */
export type Vm = {
  id: string;
  name: string;
  hostId: string;
  applicationId: string;
  actorCount: number;
  state: string;
  lockedBy: string | null;
};

/** Every VM of one application on the topology, in whatever state (the caller filters). */
export async function applicationVms(page: Page, applicationId: string): Promise<Vm[]> {
  const topo = await apiQuery<{ hosts: { vms: Vm[] }[] }>(page, "topology.get");
  return topo.hosts.flatMap((h) => h.vms).filter((v) => v.applicationId === applicationId);
}

/** The seeded heat application's VMs, wherever the specs before left them. */
export function heatVms(page: Page): Promise<Vm[]> {
  return applicationVms(page, "heat");
}

/** A tRPC mutation over HTTP with the page's session. */
export async function apiMutate<T>(page: Page, path: string, input: unknown): Promise<T> {
  const r = await page.request.post(`/api/trpc/${path}`, { data: { json: input } });
  expect(r.ok(), await r.text()).toBe(true);
  return ((await r.json()) as { result: { data: { json: T } } }).result.data.json;
}

/** The page is no wider than the screen: nothing to scroll sideways. */
export async function expectNoSidewaysScroll(page: Page, what: string): Promise<void> {
  const [scrollWidth, innerWidth] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  expect(scrollWidth, `${what}: ${scrollWidth} px of page in a ${innerWidth} px screen`).toBeLessThanOrEqual(innerWidth);
}

/**
 * A value that stops changing (a held application's progress: the last one recorded before the
 * hold may still be on its way): polled until two reads 1.5 s apart agree; returns it.
 */
export async function settledValue(page: Page, read: () => Promise<number>, what: string): Promise<number> {
  let settled = Number.NaN;
  await expect(async () => {
    const before = await read();
    await page.waitForTimeout(1500);
    settled = await read();
    expect(settled, what).toBe(before);
  }).toPass({ timeout: 30_000 });
  return settled;
}
