import { expect, test, type Browser, type Page } from "@playwright/test";
import { e2eDatabase } from "./database";
import { ADMIN_PASSWORD, keepScreenshot, signIn } from "./helpers";
import { runProcess } from "@malleo/testing/process";

/**
 * Access control and the live console, in a real browser: an admin creates users and an API
 * token; a viewer sees everything but is offered no change and is refused by the API; invalid
 * input is explained before anything is submitted; a split made in one tab appears live in
 * another; an operator cancels it and sees what was rolled back; History filters and exports;
 * the CLI works with the token. Independent of split-merge.spec.ts's order: VM names and the
 * number of earlier operations are not assumed.
 */

test.describe.configure({ mode: "serial" });

const VIEWER = { name: "vera", password: "viewer-password-1" };
const OPERATOR = { name: "otto", password: "operator-password-1" };
let cliToken = "";

async function newSignedInPage(browser: Browser, name?: string, password?: string): Promise<Page> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, name, password);
  return page;
}

test("sign-in refuses a wrong password and the console needs a session", async ({ page }) => {
  await page.goto("/history?kind=split");
  // Sent to sign in, with the page asked for kept for afterwards.
  await expect(page).toHaveURL(/\/sign-in\?next=%2Fhistory%3Fkind%3Dsplit$/);
  await expect(page.getByTestId("sign-in-next")).toContainText("/history?kind=split");
  await page.getByTestId("sign-in-name").fill("admin");
  await page.getByTestId("sign-in-password").fill("not the password");
  await page.getByTestId("sign-in-submit").click();
  // Password hashing is deliberately slow, and this machine is shared: allow for it.
  await expect(page.getByTestId("sign-in-error")).toHaveText("Wrong user name or password.", { timeout: 30_000 });
  await keepScreenshot(page, "sign-in");
  const api = await page.request.get("/api/trpc/topology.get");
  expect(api.status()).toBe(401);
  // The right password brings the person back to the page they asked for.
  await page.getByTestId("sign-in-password").fill(ADMIN_PASSWORD);
  await page.getByTestId("sign-in-submit").click();
  await expect(page).toHaveURL(/\/history\?kind=split$/, { timeout: 30_000 });
  await expect(page.getByTestId("nav-history")).toHaveAttribute("aria-current", "page");
  await expect(page.getByTestId("nav-topology")).not.toHaveAttribute("aria-current", "page");
});

test("an admin creates a viewer, an operator and an API token", async ({ page }) => {
  await signIn(page);
  await page.getByTestId("nav-admin").click();
  for (const [u, role] of [
    [VIEWER, "viewer"],
    [OPERATOR, "operator"],
  ] as const) {
    await page.getByTestId("user-create-name").fill(u.name);
    await page.getByTestId("user-create-role").selectOption(role);
    await page.getByTestId("user-create-password").fill(u.password);
    await page.getByTestId("user-create-submit").click();
    await expect(page.getByTestId(`user-row-${u.name}`)).toHaveAttribute("data-role", role);
  }
  // Invalid input is explained: a short password.
  await page.getByTestId("user-create-name").fill("shorty");
  await page.getByTestId("user-create-password").fill("short");
  await page.getByTestId("user-create-submit").click();
  await expect(page.getByTestId("user-error")).toContainText("password: a password has at least 12 characters");

  // A role change asks first: keeping it as it is changes nothing; confirming changes it.
  await page.getByTestId("user-create-name").fill("rhea");
  await page.getByTestId("user-create-role").selectOption("viewer");
  await page.getByTestId("user-create-password").fill("rhea-password-12");
  await page.getByTestId("user-create-submit").click();
  await expect(page.getByTestId("user-row-rhea")).toHaveAttribute("data-role", "viewer");
  await page.getByTestId("user-role-rhea").selectOption("operator");
  await expect(page.getByTestId("confirm-dialog")).toContainText("Make rhea an operator?");
  await page.getByTestId("confirm-cancel").click();
  await expect(page.getByTestId("confirm-dialog")).toHaveCount(0);
  await expect(page.getByTestId("user-role-rhea")).toHaveValue("viewer");
  await expect(page.getByTestId("user-row-rhea")).toHaveAttribute("data-role", "viewer");
  await page.getByTestId("user-role-rhea").selectOption("operator");
  await page.getByTestId("confirm-ok").click();
  await expect(page.getByTestId("user-row-rhea")).toHaveAttribute("data-role", "operator");
  // So does disabling.
  await page.getByTestId("user-disable-rhea").click();
  await expect(page.getByTestId("confirm-dialog")).toContainText("rhea is signed out everywhere");
  await page.getByTestId("confirm-ok").click();
  await expect(page.getByTestId("user-row-rhea")).toHaveAttribute("data-disabled", "true");

  await page.context().grantPermissions(["clipboard-read", "clipboard-write"]);
  await page.getByTestId("token-create-user").selectOption({ label: `${OPERATOR.name} (operator)` });
  await page.getByTestId("token-create-name").fill("e2e cli");
  await page.getByTestId("token-create-submit").click();
  cliToken = (await page.getByTestId("token-secret").textContent())!.trim();
  expect(cliToken).toMatch(/^mlt_/);
  await page.getByTestId("token-copy").click();
  await expect(page.getByTestId("token-copy-state")).toHaveText("Copied to the clipboard.");
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(cliToken);
  const row = page.getByTestId("token-row").filter({ hasText: "e2e cli" });
  await expect(row).toBeVisible();
  // Who created it, and when it expires.
  await expect(row.getByTestId("token-created")).toContainText("by admin");
  await expect(row.getByTestId("token-expires")).toHaveText("when revoked");
  // Revoking asks first; a throwaway token is revoked, the CLI's stays.
  await page.getByTestId("token-create-name").fill("e2e throwaway");
  await page.getByTestId("token-create-submit").click();
  const throwaway = page.locator('[data-testid="token-row"][data-name="e2e throwaway"]');
  await expect(throwaway).toHaveAttribute("data-revoked", "false");
  await page.getByTestId("token-revoke-e2e throwaway").click();
  await expect(page.getByTestId("confirm-dialog")).toContainText("Revoke the token “e2e throwaway”?");
  await page.getByTestId("confirm-ok").click();
  await expect(throwaway).toHaveAttribute("data-revoked", "true");
  await expect(row).toHaveAttribute("data-revoked", "false");
  await keepScreenshot(page, "admin");
});

test("a viewer sees the topology but is offered no change, and the API refuses one", async ({ browser }) => {
  const page = await newSignedInPage(browser, VIEWER.name, VIEWER.password);
  await expect(page.getByTestId("user-role")).toHaveText("viewer");
  await expect(page.locator('[data-testid^="vm-actors-"]').first()).toBeVisible({ timeout: 30_000 });
  await expect(page.getByTestId("view-only")).toBeVisible();
  await expect(page.getByTestId("merge-button")).toHaveCount(0);
  await expect(page.locator('[data-testid^="split-button-"]')).toHaveCount(0);
  await expect(page.getByTestId("nav-admin")).toHaveCount(0);
  await keepScreenshot(page, "topology-viewer");
  // Admin is not there for a viewer, and the page says why instead of sending them elsewhere.
  await page.goto("/admin");
  await expect(page).toHaveURL(/\/admin$/);
  await expect(page.getByTestId("admin-needs-role")).toContainText("Admin needs the admin role");
  await expect(page.getByTestId("admin-needs-role")).toContainText("viewer");
  await expect(page.getByTestId("users-table")).toHaveCount(0);
  await page.goto("/");

  const r = await page.request.post("/api/trpc/operations.split", {
    data: { json: { vmId: "6f1d2c1e-8a43-4b4e-9c55-0d7a3f1e2b10", count: 2, targetHostIds: ["pm-2", "pm-3"] } },
  });
  expect(r.status()).toBe(403);
  expect(((await r.json()) as { error: { json: { message: string } } }).error.json.message).toBe(
    "vera is a viewer; this needs the operator role — ask an admin",
  );
  // The refusal is audited and names the viewer.
  await page.getByTestId("nav-history").click();
  await expect(page.getByTestId("audit-row").filter({ hasText: "operations.split" }).first()).toHaveAttribute(
    "data-actor",
    "vera",
  );
  await page.context().close();
});

test("invalid choices are explained before anything is submitted", async ({ browser }) => {
  const page = await newSignedInPage(browser, OPERATOR.name, OPERATOR.password);
  await expect(page.locator('[data-testid^="vm-actors-"]').first()).toBeVisible({ timeout: 30_000 });
  // One VM: nothing to merge it with, and the button says why.
  await expect(page.getByTestId("merge-button")).toBeDisabled();
  await expect(page.getByTestId("merge-button")).toHaveAttribute("title", "A merge needs at least 2 VMs");

  // A malformed request is refused with each field's reason, before anything is recorded.
  const before = await operationCount(page);
  const r = await page.request.post("/api/trpc/operations.split", {
    data: { json: { vmId: "not-a-vm", count: 1, targetHostIds: ["pm-2"] } },
  });
  expect(r.status()).toBe(400);
  const message = ((await r.json()) as { error: { json: { message: string } } }).error.json.message;
  expect(message).toContain("vmId: a VM id is a UUID, as listed by the topology");
  expect(message).toContain("count: a split makes at least 2 VMs");
  expect(await operationCount(page)).toBe(before);

  await page.goto("/history?from=2026-11-25T12:00:00.000Z&to=2026-11-25T11:00:00.000Z");
  await expect(page.getByTestId("history-error")).toHaveText("to: the time range ends before it starts.");
  await page.context().close();
});

test("a split in one tab appears live in another; the operator cancels it and sees what was rolled back", async ({ browser }) => {
  const watcher = await newSignedInPage(browser, VIEWER.name, VIEWER.password);
  await watcher.goto("/history");
  await expect(watcher.getByTestId("live-status")).toHaveAttribute("data-state", "live", { timeout: 30_000 });
  const before = await operationCount(watcher);

  const page = await newSignedInPage(browser, OPERATOR.name, OPERATOR.password);
  const splitButton = page.locator('[data-testid^="split-button-"]').first();
  await expect(splitButton).toBeEnabled({ timeout: 30_000 });
  await splitButton.click();
  await expect(page.getByTestId("plan-preview")).toBeVisible();
  await expect(page.getByTestId("preview-pause")).toContainText("Expected pause");
  await expect(page.getByTestId("preview-target")).toHaveCount(2);
  await keepScreenshot(page, "split-preview");
  // Cancel is possible only until Transfer completes, and a split of the demo can finish in a
  // second or two: hold the workflow before its first step (its step rows cannot be written)
  // until the cancel is recorded, so the test does not race the operation.
  const db = await e2eDatabase();
  let opId: string;
  try {
    await db.query("BEGIN");
    await db.query("LOCK TABLE operation_steps IN EXCLUSIVE MODE");
    await page.getByTestId("split-submit").click();
    // Accepted, then the operation's page: its navigation took over 5 s once on a loaded machine.
    await expect(page).toHaveURL(/\/operations\/[0-9a-f-]{36}$/, { timeout: 30_000 });
    opId = page.url().split("/").pop()!;
    // The worker has dequeued it (DBOS's queue, polled) and stands at its first step's row: the
    // cancel then lands after Validate, whatever the queue's delay, and the chart below has both.
    await expect(page.getByTestId("op-status")).toHaveAttribute("data-status", "running", { timeout: 30_000 });
    await page.getByTestId("op-cancel").click();
    await page.getByTestId("confirm-ok").click();
    await expect(page.getByTestId("op-cancel-requested")).toContainText(`Cancel requested by ${OPERATOR.name}`, {
      timeout: 30_000,
    });
    await db.query("COMMIT");
  } finally {
    await db.query("ROLLBACK").catch(() => undefined);
    await db.end();
  }

  // The other tab (another user, no reload) sees the new operation, named by who did it.
  const row = watcher.locator(`[data-testid="history-row"][data-id="${opId}"]`);
  await expect(row).toBeVisible({ timeout: 15_000 });
  await expect(row).toHaveAttribute("data-operator", OPERATOR.name);
  await expect(watcher.getByTestId("history-table")).toHaveAttribute("data-total", String(before + 1));

  await expect(page.getByTestId("op-status")).toHaveAttribute("data-status", "rolled_back", { timeout: 120_000 });
  await expect(page.getByTestId("op-cancel-requested")).toContainText(`Cancel requested by ${OPERATOR.name}`);
  await expect(page.getByTestId("op-error")).toBeVisible();
  await expect(page.getByTestId("op-log")).toContainText("requested cancel");
  await expect(page.getByTestId("op-cancel")).toHaveCount(0);
  await keepScreenshot(page, "operation-cancelled");
  await expect(row).toHaveAttribute("data-status", "rolled_back", { timeout: 15_000 });
  await watcher.context().close();
  await page.context().close();
});

test("History filters, paginates and exports CSV; charts draw what the operations recorded", async ({ page }) => {
  await signIn(page);
  await page.goto("/history");
  await expect(page.getByTestId("history-row").first()).toBeVisible();
  await page.getByTestId("filter-status").selectOption("rolled_back");
  await expect(page.getByTestId("history-row")).toHaveCount(1);
  await expect(page.getByTestId("history-row").first()).toHaveAttribute("data-status", "rolled_back");
  await expect(page).toHaveURL(/status=rolled_back/);
  await page.getByTestId("filter-operator").selectOption(OPERATOR.name);
  await expect(page.getByTestId("history-row")).toHaveCount(1);
  await expect(page.getByTestId("history-row").first()).toHaveAttribute("data-operator", OPERATOR.name);
  await page.getByTestId("filter-vm").fill("no-such-vm");
  await expect(page.getByTestId("history-empty")).toHaveText("No operation matches these filters.");
  await page.getByTestId("filter-clear").click();
  await expect(page).not.toHaveURL(/status=/);
  await page.getByTestId("filter-kind").selectOption("split");
  await expect(page).toHaveURL(/kind=split/);
  await expect(page.locator('[data-testid="history-row"][data-kind="merge"]')).toHaveCount(0);
  await expect(page.locator('[data-testid="history-row"][data-kind="split"]').first()).toBeVisible();
  await keepScreenshot(page, "history-filtered");

  const csv = await page.request.get("/api/history.csv?status=rolled_back");
  expect(csv.status()).toBe(200);
  expect(csv.headers()["content-type"]).toContain("text/csv");
  const lines = (await csv.text()).trim().split("\r\n");
  expect(lines[0]).toBe(
    "id,kind,status,operator,sources,targets,hosts,created_at,started_at,finished_at,duration_ms,cancelled_by,error,transfer_mode,pause_ms,hold_p50_ms,hold_p99_ms,hold_max_ms",
  );
  expect(lines).toHaveLength(2);
  expect(lines[1]).toContain(",split,rolled_back,otto,");

  // The audit log for an auditor: who created whom with what role, by session, and a viewer's refusal as a message.
  await page.getByTestId("filter-clear").click();
  const created = page.getByTestId("audit-row").filter({ hasText: "created user vera (viewer)" });
  await page.getByTestId("audit-filter-procedure").selectOption("users.create");
  await expect(created).toHaveCount(1);
  await expect(created).toHaveAttribute("data-actor", "admin");
  await expect(created).toHaveAttribute("data-via", "session");
  await expect(page.getByTestId("audit-table")).toContainText(/When \(UTC/);
  await page.getByTestId("audit-filter-procedure").selectOption("");
  await page.getByTestId("audit-filter-actor").selectOption(VIEWER.name);
  await page.getByTestId("audit-filter-ok").selectOption("false");
  const refused = page.getByTestId("audit-row");
  await expect(refused.first()).toHaveAttribute("data-ok", "false");
  for (const r of await refused.all()) await expect(r).toHaveAttribute("data-actor", VIEWER.name);
  await expect(refused.filter({ hasText: "requested a split" }).first()).toContainText("this needs the operator role");
  await keepScreenshot(page, "audit-filtered");
  // The CSV has the same rows, with the zone of its times in its header.
  const auditCsv = await page.request.get(`/api/audit.csv?actor=${VIEWER.name}&ok=false`);
  expect(auditCsv.status()).toBe(200);
  const auditLines = (await auditCsv.text()).trim().split("\r\n");
  expect(auditLines[0]).toBe("at_utc,actor,via,procedure,action,target,outcome,error,operation_id");
  expect(auditLines.length - 1).toBe(Number(await page.getByTestId("audit-table").getAttribute("data-total")));
  for (const line of auditLines.slice(1)) expect(line).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z,vera,session,.*,refused,/);
  expect((await page.request.get("/api/audit.csv?ok=maybe")).status()).toBe(400);

  await page.getByTestId("nav-charts").click();
  await expect(page.getByTestId("chart-throughput").locator(".chart__body")).toBeVisible({ timeout: 30_000 });
  // Every operation so far (the split and merge of split-merge.spec.ts when it ran first, and the cancelled split).
  const operations = await operationCount(page);
  await expect(page.getByTestId("chart-throughput").locator(".chart__body")).toHaveAttribute("data-markers", String(operations));
  await expect(page.getByTestId("chart-steps").locator(".chart__body")).toHaveAttribute("data-operations", String(operations));
  await expect(page.getByTestId("chart-cpu")).toBeVisible();
  // Steps in run order in the legend (the cancelled split: Validate & plan first, Roll back last); operations shaded on the throughput chart with a key of outcomes.
  await expect(page.getByTestId("chart-steps").locator(".chart__body")).toHaveAttribute("data-steps", /^validate\b.*\brollback$/);
  await expect(page.getByTestId("chart-throughput")).toContainText("rolled back");
  await keepScreenshot(page, "charts");
});

async function operationCount(page: Page): Promise<number> {
  const r = await page.request.get(`/api/trpc/operations.search?input=${encodeURIComponent(JSON.stringify({ json: {} }))}`);
  return ((await r.json()) as { result: { data: { json: { total: number } } } }).result.data.json.total;
}

test("the CLI lists hosts, VMs and operations with an API token", async ({ baseURL }) => {
  // Each command is a process of its own (it starts under tsx, seconds on a loaded machine) and
  // none changes anything the others read: the four run at once.
  const cli = (...args: string[]) =>
    runProcess(process.execPath, ["--import", "tsx", "apps/cli/src/main.ts", ...args, "--url", baseURL!, "--token", cliToken]);
  const [hosts, vmsOut, opsOut, refused] = await Promise.all([
    cli("hosts"),
    cli("vms", "--json"),
    cli("ops", "--json", "--status", "rolled_back"),
    cli("cancel", "6f1d2c1e-8a43-4b4e-9c55-0d7a3f1e2b10"),
  ]);
  expect(hosts.code, hosts.stderr).toBe(0);
  expect(hosts.stdout).toMatch(/^HOST\s+STATUS\s+VMS\s+VCPUS\s+MEMORY\n/);
  expect(hosts.stdout).toContain("pm-1");
  expect(vmsOut.code, vmsOut.stderr).toBe(0);
  const vms = JSON.parse(vmsOut.stdout) as { actors: number }[];
  expect(vms.reduce((s, v) => s + v.actors, 0)).toBe(64);
  expect(opsOut.code, opsOut.stderr).toBe(0);
  const ops = JSON.parse(opsOut.stdout) as {
    total: number;
    items: { operator: string }[];
  };
  expect(ops.total).toBe(1);
  expect(ops.items[0]!.operator).toBe(OPERATOR.name);
  expect(refused.code).toBe(1);
  expect(refused.stderr).toMatch(/^malleo: operation 6f1d2c1e-8a43-4b4e-9c55-0d7a3f1e2b10 does not exist/);
});
