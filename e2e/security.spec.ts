import http from "node:http";
import { expect, test, type Page } from "@playwright/test";
import { E2E_PORT } from "./paths";
import { ADMIN_PASSWORD, keepScreenshot, signIn } from "./helpers";

/**
 * The browser is not a trust boundary: every response carries the security headers, the console
 * works under its Content-Security-Policy, and a page on another origin (here another port of
 * the same host: the same *site*, so the browser sends the SameSite=Lax session cookie) cannot
 * make the signed-in browser change anything.
 */

/** Collects the CSP violations the browser reports, so that a page "working" is not just a guess. */
function watchCsp(page: Page): string[] {
  const violations: string[] = [];
  page.on("console", (m) => {
    if (/Content Security Policy|Content-Security-Policy/i.test(m.text())) violations.push(m.text());
  });
  return violations;
}

test("every response carries the security headers, and HSTS only behind HTTPS", async ({ request }) => {
  for (const path of ["/sign-in", "/api/trpc/auth.me", "/api/history.csv"]) {
    const r = await request.get(path, { maxRedirects: 0 });
    const h = r.headers();
    expect(h["content-security-policy"], path).toContain("frame-ancestors 'none'");
    expect(h["content-security-policy"], path).toContain("default-src 'self'");
    expect(h["content-security-policy"], path).not.toContain("unsafe-eval");
    expect(h["x-content-type-options"], path).toBe("nosniff");
    expect(h["x-frame-options"], path).toBe("DENY");
    expect(h["referrer-policy"], path).toBe("same-origin");
    expect(h["strict-transport-security"], path).toBeUndefined();
  }
  const tls = await request.get("/sign-in", { headers: { "x-forwarded-proto": "https" } });
  expect(tls.headers()["strict-transport-security"]).toMatch(/^max-age=\d+/);
});

test("the console works under its CSP: sign-in, topology, history, charts, admin", async ({ page }) => {
  const violations = watchCsp(page);
  await signIn(page);
  await expect(page.locator('[data-testid^="vm-actors-"]').first()).toBeVisible({ timeout: 30_000 });
  for (const nav of ["nav-history", "nav-charts", "nav-admin"]) {
    await page.getByTestId(nav).click();
    await expect(page).toHaveURL(new RegExp(nav.replace("nav-", "/")));
  }
  expect(violations).toEqual([]);
});

test("a form on another origin cannot sign the user out", async ({ page }) => {
  await signIn(page);
  // An attacker's page on another port of the same host: same site, so the session cookie goes along.
  const evil = `http://127.0.0.1:${E2E_PORT + 1}/evil.html`;
  await page.route(evil, (route) =>
    route.fulfill({
      contentType: "text/html",
      body: `<form id="f" method="POST" enctype="multipart/form-data" action="http://127.0.0.1:${E2E_PORT}/api/trpc/auth.signOut"><input name="x" value="1"></form>`,
    }),
  );
  await page.goto(evil);
  const answered = page.waitForResponse((r) => r.url().includes("/api/trpc/auth.signOut"));
  await page.evaluate(() => (document.getElementById("f") as HTMLFormElement).submit());
  const response = await answered;
  expect(response.status()).toBe(403);
  expect(await response.text()).toContain("sent from another site");
  // Still signed in.
  await page.goto("/");
  await expect(page.getByTestId("user-name")).toHaveText("admin", { timeout: 30_000 });
  // The console's own sign-out still works.
  const own = await page.evaluate(async () => {
    const r = await fetch("/api/trpc/auth.signOut", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    return r.status;
  });
  expect(own).toBe(200);
});

async function operationCount(page: Page): Promise<number> {
  const r = await page.request.get(`/api/trpc/operations.search?input=${encodeURIComponent(JSON.stringify({ json: {} }))}`);
  return ((await r.json()) as { result: { data: { json: { total: number } } } }).result.data.json.total;
}

async function openSplitDialog(page: Page): Promise<void> {
  const splitButton = page.locator('[data-testid^="split-button-"]').first();
  await expect(splitButton).toBeEnabled({ timeout: 30_000 });
  await splitButton.click();
  await expect(page.getByTestId("split-submit")).toBeEnabled();
}

test("a split clicked while offline is not sent, then or later", async ({ page, context }) => {
  await signIn(page);
  const before = await operationCount(page);
  const sent: string[] = [];
  page.on("request", (r) => {
    if (r.url().includes("operations.split")) sent.push(r.url());
  });
  await openSplitDialog(page);
  await context.setOffline(true);
  await page.getByTestId("split-submit").click();
  await expect(page.getByTestId("split-error")).toHaveText(/^Not sent: this browser is offline\. Nothing was submitted/);
  await expect(page.getByTestId("split-error")).toBeInViewport();
  await context.setOffline(false);
  // Back online, nothing queued goes out behind the operator's back.
  await expect(page.getByTestId("split-submit")).toBeEnabled();
  expect(sent).toEqual([]);
  expect(await operationCount(page)).toBe(before);
});

test("a split the server does not answer says so after 10 s, and arriving late it changes nothing", async ({ page }) => {
  await signIn(page);
  const before = await operationCount(page);
  // The request is held on its way (a stalled network): the browser gives up, the dialog says so.
  let held: { url: string; body: string } | undefined;
  await page.route("**/api/trpc/operations.split*", (route) => {
    held = { url: route.request().url(), body: route.request().postData() ?? "" };
  });
  await openSplitDialog(page);
  await page.getByTestId("split-submit").click();
  await expect(page.getByTestId("split-error")).toContainText(
    "The server did not answer within 10 s. It may have accepted the request: check History",
    { timeout: 30_000 },
  );
  await expect(page.getByTestId("split-error")).toBeInViewport();
  await keepScreenshot(page, "split-no-answer");
  expect(held).toBeDefined();
  const call = (JSON.parse(held!.body) as Record<string, { json: { idempotencyKey: string; deadline: number } }>)["0"]!.json;
  expect(call.idempotencyKey).toMatch(/^[0-9a-f]{32}$/);
  // The held request now reaches the server, after its deadline (same machine, same clock).
  await expect.poll(() => Date.now()).toBeGreaterThan(call.deadline);
  const late = await page.request.post(held!.url.replace(/^https?:\/\/[^/]+/, ""), {
    headers: { "content-type": "application/json" },
    data: held!.body,
  });
  expect(late.status()).toBe(409);
  expect(await late.text()).toContain("after the deadline its client set");
  expect(await operationCount(page)).toBe(before);
});

test("a user changes their own password; an admin resets it and re-enables the user", async ({ browser, page }) => {
  await signIn(page);
  const created = await page.request.post("/api/trpc/users.create", {
    data: { json: { name: "paula", role: "viewer", password: "paula password 1" } },
  });
  expect(created.status()).toBe(200);
  const paulaId = ((await created.json()) as { result: { data: { json: { id: string } } } }).result.data.json.id;

  const paula = await (await browser.newContext()).newPage();
  await signIn(paula, "paula", "paula password 1");
  // A click that lands before the page has hydrated is lost: click until the form is there.
  await expect(async () => {
    if (!(await paula.getByTestId("password-current").isVisible())) await paula.getByTestId("password-open").click();
    await expect(paula.getByTestId("password-current")).toBeVisible({ timeout: 2_000 });
  }).toPass({ timeout: 30_000 });
  await paula.getByTestId("password-current").fill("not my password");
  await paula.getByTestId("password-new").fill("paula password 2");
  await paula.getByTestId("password-submit").click();
  await expect(paula.getByTestId("password-error")).toHaveText(/current password is wrong; nothing was changed/, {
    timeout: 30_000,
  });
  await paula.getByTestId("password-current").fill("paula password 1");
  await paula.getByTestId("password-submit").click();
  await expect(paula.getByTestId("password-changed")).toBeVisible({ timeout: 30_000 });
  await keepScreenshot(paula, "password-change");
  await paula.context().close();
  const again = await (await browser.newContext()).newPage();
  await signIn(again, "paula", "paula password 2");

  // The admin resets it: paula's session ends and the new password works.
  await page.getByTestId("nav-admin").click();
  await page.getByTestId("user-reset-paula").click();
  await page.getByTestId("user-reset-password-paula").fill("paula password 3");
  await page.getByTestId("user-reset-password-paula").press("Enter");
  await expect(page.getByTestId("user-reset-paula")).toBeVisible({ timeout: 30_000 });
  expect((await again.request.get("/api/trpc/auth.me")).status()).toBe(401);
  await again.context().close();

  // Disabled, then enabled again from the Admin page.
  expect((await page.request.post("/api/trpc/users.disable", { data: { json: { id: paulaId } } })).status()).toBe(200);
  await page.reload();
  await page.getByTestId("user-enable-paula").click();
  await expect(page.getByTestId("user-row-paula")).toHaveAttribute("data-disabled", "false", { timeout: 30_000 });
  const back = await (await browser.newContext()).newPage();
  await signIn(back, "paula", "paula password 3");
  await back.context().close();
});

/** A sign-in over HTTP from a socket bound to `from` (any 127.x address is this machine's); its status. */
function signInFrom(from: string, name: string, password: string, headers: Record<string, string> = {}): Promise<number> {
  const body = JSON.stringify({ json: { name, password } });
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port: E2E_PORT,
        localAddress: from,
        method: "POST",
        path: "/api/trpc/auth.signIn",
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body), ...headers },
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

test("fifty wrong sign-ins from one address hold off that address only; forged address headers change nothing", async () => {
  // 50 wrong attempts (each for another name, so no account's own limit is what stops them).
  const attacker = "127.0.0.2";
  for (let i = 0; i < 50; i++) expect(await signInFrom(attacker, `nobody-${i}`, "wrong password")).toBe(401);
  expect(await signInFrom(attacker, "nobody-50", "wrong password")).toBe(429);
  // Held off for the right password too, whatever address its headers claim.
  expect(await signInFrom(attacker, "admin", ADMIN_PASSWORD)).toBe(429);
  expect(await signInFrom(attacker, "admin", ADMIN_PASSWORD, { "x-forwarded-for": "10.1.2.3" })).toBe(429);
  expect(await signInFrom(attacker, "admin", ADMIN_PASSWORD, { "x-malleo-socket-0123456789abcdef": "10.1.2.3" })).toBe(429);
  // Every other client signs in as before, including one that names the attacker's address.
  expect(await signInFrom("127.0.0.3", "admin", ADMIN_PASSWORD)).toBe(200);
  expect(await signInFrom("127.0.0.4", "admin", ADMIN_PASSWORD, { "x-forwarded-for": attacker })).toBe(200);
});
