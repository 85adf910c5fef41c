import { expect, test, type Page } from "@playwright/test";
import { apiMutate, apiQuery, heatVms, signIn } from "./helpers";

/**
 * An open VM actions menu stays open, with the focus where the operator left it, while the
 * topology lays itself out again: the window narrowing or widening so that the hosts fit in
 * another number of columns (a resized window), a full-page screenshot (for which Chromium makes
 * the window 1×1 px for a moment: e2e/tasks.spec.ts's menu closed by itself that way), and a live
 * event refetching the topology. Only the operator closes it. Changes nothing it does not put
 * back (a host's VM quota, for the live event).
 */

/** How many columns the host cards are in, from where they are (not how the grid is built). */
async function hostColumns(page: Page): Promise<number> {
  return page.evaluate(
    () => new Set(Array.from(document.querySelectorAll("section.host"), (h) => h.getBoundingClientRect().x)).size,
  );
}

test("an open actions menu stays open and focused through full-page screenshots, the hosts changing columns and a live refetch", async ({
  page,
}) => {
  await signIn(page);
  await page.goto("/");
  await expect(page.getByTestId("live-status")).toHaveAttribute("data-state", "live", { timeout: 30_000 });
  const vm = (await heatVms(page)).find((v) => v.state === "running")!;
  expect(vm, "a running heat VM").toBeTruthy();
  await expect(page.getByTestId(`vm-${vm.name}`)).toBeVisible();
  const start = await hostColumns(page);
  expect(start, "3 hosts side by side at 1280 px").toBe(3);

  const button = page.getByTestId(`vm-actions-${vm.name}`);
  await button.focus();
  await page.keyboard.press("Enter");
  const splitItem = page.getByTestId(`vm-action-split-${vm.name}`);
  const mergeItem = page.getByTestId(`vm-action-merge-${vm.name}`);
  await expect(splitItem).toBeFocused();
  await page.keyboard.press("ArrowDown");
  await expect(mergeItem).toBeFocused();

  // Full-page screenshots (a page taller than the window): Chromium sizes the window to 1×1 px for
  // a moment while it takes one, which the page sees (a resize event, its elements 0 px wide).
  await page.setViewportSize({ width: 1280, height: 500 });
  for (let i = 0; i < 3; i++) {
    await page.screenshot({ path: `test-results/screenshots/vm-actions-open-${i}.png`, fullPage: true });
    await expect(button, `still open after full-page screenshot ${i + 1}`).toHaveAttribute("aria-expanded", "true");
    await expect(mergeItem, `focus kept after full-page screenshot ${i + 1}`).toBeFocused();
  }
  expect(await hostColumns(page)).toBe(3);

  // Narrower: the hosts go to 2 columns (a host moves to the next row), then back to 3.
  for (const [width, columns] of [
    [1000, 2],
    [1280, 3],
  ] as const) {
    await page.setViewportSize({ width, height: 800 });
    await expect.poll(() => hostColumns(page), { message: `hosts in ${columns} columns at ${width} px` }).toBe(columns);
    await expect(button, `still open at ${width} px`).toHaveAttribute("aria-expanded", "true");
    await expect(mergeItem, `focus kept at ${width} px`).toBeFocused();
  }

  // A live event: another change to the topology (a host's quota), refetched and shown.
  const host = (await apiQuery<{ hosts: { id: string; vmQuota: number }[] }>(page, "topology.get")).hosts.find(
    (h) => h.id === vm.hostId,
  )!;
  try {
    await apiMutate(page, "hosts.update", { id: host.id, vmQuota: host.vmQuota + 1 });
    await expect(page.getByTestId(`host-slots-${host.id}`)).toContainText(`/ ${host.vmQuota + 1} VMs`);
    await expect(button, "still open after the refetch").toHaveAttribute("aria-expanded", "true");
    await expect(mergeItem, "focus kept after the refetch").toBeFocused();
  } finally {
    await apiMutate(page, "hosts.update", { id: host.id, vmQuota: host.vmQuota });
  }

  // The keys still work in it, and Escape closes it, the focus back on its button.
  await page.keyboard.press("ArrowUp");
  await expect(splitItem).toBeFocused();
  await page.keyboard.press("Escape");
  await expect(button).toHaveAttribute("aria-expanded", "false");
  await expect(button).toBeFocused();
});
