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
