import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { expect, test } from "@playwright/test";
import { keepScreenshot, signIn } from "./helpers";
import { E2E_DATA_DIR } from "./paths";

/**
 * Hosts from the admin page, in a real browser against the whole stack: an admin registers a
 * simulated host by its libvirt URI and the running worker connects to it and reads its
 * capacity; invalid input is explained beside its field; quota and overcommit are changed;
 * a host carrying VMs cannot be removed (the refusal names them), an empty one can; a URI is
 * tested before it is saved (the worker tries it; the web never talks to libvirt); the audit
 * log shows the changes.
 */

test.describe.configure({ mode: "serial" });

/** A libvirt test-driver node file: 6 CPUs, 12 GiB, no domains (what simulatedHostFile writes). */
function simulatedHostUri(id: string): string {
  // Inside the data directory: the API takes a simulated host's file from nowhere else.
  const dir = path.resolve(E2E_DATA_DIR, "e2e-hosts");
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${id}.xml`);
  writeFileSync(
    file,
    `<?xml version="1.0"?>\n<node>\n  <cpu>\n    <mhz>2400</mhz>\n    <model>malleo-sim</model>\n    <active>6</active>\n    <nodes>1</nodes>\n    <sockets>1</sockets>\n    <cores>6</cores>\n    <threads>1</threads>\n  </cpu>\n  <memory>${12288 * 1024}</memory>\n</node>\n`,
  );
  return `test://${file}`;
}

test("an admin tests a URI before registering it: libvirt's figures for a good one, the reason for a bad one, nothing saved", async ({
  page,
}) => {
  await signIn(page);
  await page.getByTestId("nav-admin").click();
  const uri = page.getByTestId("host-register-uri");
  const testButton = page.getByTestId("host-register-test");
  const result = page.getByTestId("host-test-result");
  await expect(testButton).toBeDisabled(); // no URI yet
  // The first spec of the run: the worker has connected to its hosts before it is asked to try one.
  await expect(page.getByTestId("hosts-table").getByTestId("host-status-pm-1")).toHaveAttribute("data-status", "online", {
    timeout: 60_000,
  });

  // A good URI: the worker opens it and reports what libvirt read.
  await uri.fill(simulatedHostUri("pm-try"));
  await testButton.click();
  // The text first: a wrong answer's own words are then what the failure shows.
  await expect(result).toContainText("6 CPUs · 12 GiB (malleo-sim)", { timeout: 20_000 });
  await expect(result).toHaveAttribute("data-ok", "true");
  await keepScreenshot(page, "hosts-test-connection-ok");

  // Changing the URI clears the answer; a missing simulated host file says so.
  const missing = path.resolve(E2E_DATA_DIR, "nowhere/pm-try.xml");
  await uri.fill(`test://${missing}`);
  await expect(result).toHaveCount(0);
  await testButton.click();
  await expect(result).toContainText(`Cannot connect: simulated host file ${missing} does not exist.`, { timeout: 20_000 });
  await expect(result).toHaveAttribute("data-ok", "false");
  await expect(result).toHaveAttribute("data-kind", "missing-file");

  // A machine that refuses the connection: the plain reason, and libvirt's words below it.
  await uri.fill("qemu+ssh://127.0.0.1:1/system");
  await testButton.click();
  await expect(result).toContainText("Cannot connect: the host refused the connection.", { timeout: 20_000 });
  await expect(result).toHaveAttribute("data-kind", "refused");
  await expect(result).toContainText("libvirt: ");
  await keepScreenshot(page, "hosts-test-connection-refused");

  // A URI the rules refuse: register's own refusal, and nothing contacted.
  await uri.fill("xen:///system");
  await testButton.click();
  await expect(result).toContainText('URI refused, nothing was contacted: "xen:///system" is not a libvirt URI Malleo drives');

  // Testing saved nothing.
  await expect(page.getByTestId("host-row-pm-try")).toHaveCount(0);
  await uri.fill("");
});

test("an admin registers a host by URI; the worker connects, reads its capacity and shows it online", async ({ page }) => {
  await signIn(page);
  await page.getByTestId("nav-admin").click();
  const table = page.getByTestId("hosts-table");
  await expect(table.getByTestId("host-status-pm-1")).toHaveAttribute("data-status", "online");

  // Invalid input is explained beside its field, and nothing is registered.
  await page.getByTestId("host-register-name").fill("pm-e2e");
  await page.getByTestId("host-register-uri").fill("xen:///system");
  await page.getByTestId("host-register-quota").fill("0");
  await page.getByTestId("host-register-submit").click();
  await expect(page.getByTestId("host-register-uri-error")).toContainText(
    '"xen:///system" is not a libvirt URI Malleo drives; use test:///default',
  );
  await expect(page.getByTestId("host-register-quota-error")).toHaveText("the VM quota is at least 1");
  await expect(page.getByTestId("host-row-pm-e2e")).toHaveCount(0);

  // A simulated host file, registered with CPU overcommit 2.
  await page.getByTestId("host-register-uri").fill(simulatedHostUri("pm-e2e"));
  await page.getByTestId("host-register-quota").fill("3");
  await page.getByTestId("host-register-cpu").fill("2");
  await page.getByTestId("host-register-submit").click();
  await expect(page.getByTestId("host-register-uri-error")).toHaveCount(0);
  await expect(page.getByTestId("host-status-pm-e2e")).toHaveAttribute("data-status", "online", { timeout: 30_000 });
  // 6 CPUs read from libvirt × overcommit 2.
  await expect(page.getByTestId("host-cpus-pm-e2e")).toContainText("0 / 12");
  await expect(page.getByTestId("host-vms-pm-e2e")).toHaveText("0 / 3");
  await keepScreenshot(page, "hosts-registered");

  // The same name again is refused with the reason.
  await page.getByTestId("host-register-name").fill("pm-e2e");
  await page.getByTestId("host-register-uri").fill("test:///default");
  await page.getByTestId("host-register-submit").click();
  await expect(page.getByTestId("host-register-error")).toContainText("A host named pm-e2e already exists; choose another name.");

  // A host the worker cannot reach is shown as such, with libvirt's reason.
  await page.getByTestId("host-register-name").fill("pm-gone");
  await page.getByTestId("host-register-uri").fill(`test://${path.resolve(E2E_DATA_DIR, "nowhere/pm-gone.xml")}`);
  await page.getByTestId("host-register-submit").click();
  await expect(page.getByTestId("host-status-pm-gone")).toHaveAttribute("data-status", "unreachable");
  await expect(page.getByTestId("host-reason-pm-gone")).toContainText("/nowhere/pm-gone.xml does not exist", {
    timeout: 30_000,
  });
});

test("the Split dialog offers an unreachable host as not choosable, states the real division and counts the new VMs on a host", async ({
  page,
}) => {
  await signIn(page);
  await page.goto("/");
  await page.getByTestId("split-button-heat-1").click();
  await page.getByTestId("split-count").selectOption("3");
  // 4 vCPUs and 8 GiB in three: not "evenly".
  await expect(page.getByTestId("split-dialog")).toContainText("2/1/1 vCPU, 2731/2731/2730 MiB");
  const gone = page.getByTestId("split-target-0").locator('option[value="pm-gone"]');
  await expect(gone).toBeDisabled();
  await expect(gone).toHaveText("pm-gone — unreachable, cannot be chosen");
  await expect(page.getByTestId("split-unchoosable")).toContainText("Not offered: pm-gone (unreachable: ");
  await expect(page.getByTestId("split-unchoosable")).toContainText("/nowhere/pm-gone.xml does not exist");
  for (const i of [0, 1, 2]) await page.getByTestId(`split-target-${i}`).selectOption("pm-2");
  // pm-2 has 4 slots, 8 vCPUs: with the two other new VMs on it, 2 slots and 6 vCPUs are left for this one.
  await expect(page.getByTestId("split-target-0").locator('option[value="pm-2"]')).toContainText("free 2 slots, 6 vCPU");
  await expect(page.getByTestId("split-problems")).toHaveCount(0);
  await keepScreenshot(page, "split-dialog-three-on-one-host");
  await page.getByRole("button", { name: "Cancel" }).click();
});

test("an admin changes quota and overcommit, and removes hosts only when no VM runs there", async ({ page }) => {
  await signIn(page);
  await page.getByTestId("nav-admin").click();

  await page.getByTestId("host-edit-pm-e2e").click();
  await page.getByTestId("host-update-quota").fill("0");
  await page.getByTestId("host-update-submit").click();
  await expect(page.getByTestId("host-update-quota-error")).toHaveText("the VM quota is at least 1");
  await page.getByTestId("host-update-quota").fill("5");
  await page.getByTestId("host-update-cpu").fill("1.5");
  await page.getByTestId("host-update-submit").click();
  await expect(page.getByTestId("host-vms-pm-e2e")).toHaveText("0 / 5");
  await expect(page.getByTestId("host-cpus-pm-e2e")).toContainText("0 / 9");
  await expect(page.getByTestId("host-ratios-pm-e2e")).toHaveText("1.5 · 1");

  // A host with live VMs: the refusal names them.
  const listed = await page.request.get("/api/trpc/hosts.list");
  expect(listed.status()).toBe(200);
  const hosts = ((await listed.json()) as { result: { data: { json: { id: string; vms: { name: string }[] }[] } } }).result.data
    .json;
  const busy = hosts.find((h) => h.vms.length > 0)!;
  // Removal asks first, in the console's own dialog; keeping the host changes nothing.
  await page.getByTestId(`host-remove-${busy.id}`).click();
  await expect(page.getByTestId("confirm-dialog")).toContainText(`Remove host ${busy.id}?`);
  await page.getByTestId("confirm-cancel").click();
  await expect(page.getByTestId("confirm-dialog")).toHaveCount(0);
  await expect(page.getByTestId(`host-remove-${busy.id}`)).toBeFocused();
  await expect(page.getByTestId(`host-row-${busy.id}`)).toBeVisible();
  await page.getByTestId(`host-remove-${busy.id}`).click();
  await page.getByTestId("confirm-ok").click();
  await expect(page.getByTestId(`host-remove-error-${busy.id}`)).toContainText(
    `Host ${busy.id} still carries ${busy.vms.length} live VM`,
  );
  for (const vm of busy.vms) await expect(page.getByTestId(`host-remove-error-${busy.id}`)).toContainText(vm.name);
  await keepScreenshot(page, "hosts-remove-refused");

  await page.getByTestId("host-remove-pm-e2e").click();
  await page.getByTestId("confirm-ok").click();
  await expect(page.getByTestId("host-row-pm-e2e")).toHaveCount(0);
  await page.getByTestId("host-remove-pm-gone").click();
  await page.getByTestId("confirm-ok").click();
  await expect(page.getByTestId("host-row-pm-gone")).toHaveCount(0);

  // Every change is in the audit log.
  await page.getByTestId("nav-history").click();
  await expect(page.getByTestId("audit-row").filter({ hasText: "registered host" }).first()).toBeVisible();
  await expect(page.getByTestId("audit-row").filter({ hasText: "removed host" }).first()).toBeVisible();
  await expect(page.getByTestId("audit-row").filter({ hasText: "tested the connection to URI" }).first()).toBeVisible();
});
