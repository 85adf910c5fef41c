import { spawn, spawnSync } from "node:child_process";
import { expect, test, type Page } from "@playwright/test";
import { e2eDatabase } from "./database";
import { apiMutate, apiQuery, heatVms, keepScreenshot, signIn, type Vm } from "./helpers";

/**
 * Actors seen moving: a topology tab records every count it renders while a split's Transfer
 * moves the heat actors batch by batch, then `malleo watch` follows a merge over the same
 * server-sent events. Runs after split-merge.spec.ts (file order): it starts from whichever heat
 * VM holds all 64 actors and leaves one such VM behind.
 */

test.describe.configure({ mode: "serial" });

const OPERATION_DEADLINE = 120_000;

/** The heat VMs that run (a VM being provisioned or torn down is not counted). */
async function runningHeatVms(page: Page): Promise<Vm[]> {
  return (await heatVms(page)).filter((v) => v.state === "running");
}

async function operationOutcome(page: Page, id: string): Promise<{ status: string; targets: string[] }> {
  let op = { status: "queued", plan: null as { targets: { name: string }[] } | null };
  await expect
    .poll(
      async () => {
        op = await apiQuery(page, "operations.get", { id });
        return ["succeeded", "failed", "rolled_back"].includes(op.status);
      },
      { timeout: OPERATION_DEADLINE, intervals: [500] },
    )
    .toBe(true);
  return { status: op.status, targets: op.plan?.targets.map((t) => t.name) ?? [] };
}

declare global {
  interface Window {
    __counts: Record<string, number>[];
    __deltas: string[];
  }
}

test("the topology shows actors leave the source and arrive on each target as Transfer moves them", async ({ page }) => {
  await signIn(page);
  await page.goto("/");
  await expect(page.getByTestId("live-status")).toHaveAttribute("data-state", "live", { timeout: 30_000 });
  const source = (await runningHeatVms(page)).find((v) => v.actorCount === 64 && !v.lockedBy);
  expect(source, "a heat VM holding all 64 actors").toBeTruthy();
  await expect(page.getByTestId(`vm-actors-${source!.name}`)).toHaveText("64");
  const targetHosts = ["pm-1", "pm-2", "pm-3"].filter((h) => h !== source!.hostId).slice(0, 2);

  // Every distinct set of actor counts the page renders, and every "arriving/leaving" label, as it happens.
  await page.evaluate(`
    window.__counts = [];
    window.__deltas = [];
    const record = () => {
      const counts = {};
      for (const el of document.querySelectorAll('[data-testid^="vm-actors-"]'))
        counts[el.getAttribute("data-testid").slice("vm-actors-".length)] = Number(el.textContent);
      const last = window.__counts[window.__counts.length - 1];
      if (JSON.stringify(last) !== JSON.stringify(counts)) window.__counts.push(counts);
      for (const el of document.querySelectorAll('[data-testid^="vm-delta-"]')) {
        const seen = el.getAttribute("data-testid").slice("vm-delta-".length) + " " + el.textContent;
        if (!window.__deltas.includes(seen)) window.__deltas.push(seen);
      }
    };
    record();
    new MutationObserver(record).observe(document.body, { subtree: true, childList: true, characterData: true });
  `);

  const op = await apiMutate<{ id: string }>(page, "operations.split", {
    vmId: source!.id,
    count: 2,
    targetHostIds: targetHosts,
  });
  // Transfer moves one target's actors after the other, tens of milliseconds apart: faster than
  // a page is sure to render. Hold the second move's database update (a row lock on the second
  // target's actors, taken while the workflow is still before Provision's theater boot) until the
  // page has shown the state between the two moves, then let it go on.
  const planned = await apiQuery<{ plan: { targets: { name: string; actors: string[] }[] } }>(page, "operations.get", {
    id: op.id,
  });
  const db = await e2eDatabase();
  try {
    await db.query("BEGIN");
    await db.query("SELECT uan FROM actors WHERE uan = ANY($1) FOR UPDATE", [planned.plan.targets[1]!.actors]);
    const [first, second] = planned.plan.targets.map((t) => t.name) as [string, string];
    await expect
      .poll(
        () =>
          page.evaluate(
            ([src, a, b]: [string, string, string]) => window.__counts.some((c) => c[src] === 32 && c[a] === 32 && c[b] === 0),
            [source!.name, first, second] as [string, string, string],
          ),
        { timeout: OPERATION_DEADLINE, message: "the page shows the first target's actors arrived, the second's not yet" },
      )
      .toBe(true);
    await db.query("COMMIT");
  } finally {
    await db.query("ROLLBACK").catch(() => undefined);
    await db.end();
  }
  const outcome = await operationOutcome(page, op.id);
  expect(outcome.status).toBe("succeeded");
  const [a, b] = outcome.targets as [string, string];
  await expect(page.getByTestId(`vm-actors-${a}`)).toHaveText("32", { timeout: 15_000 });
  await expect(page.getByTestId(`vm-actors-${b}`)).toHaveText("32");
  await expect(page.getByTestId(`vm-${source!.name}`)).toHaveCount(0, { timeout: 15_000 });

  const counts = await page.evaluate(() => window.__counts);
  // Mid-Transfer: one target already holds its actors while the other has none yet, and the
  // source has given up only those (the page did not just jump from before to after).
  const midway = counts.filter((c) => c[source!.name] === 32 && ((c[a] === 32 && c[b] === 0) || (c[a] === 0 && c[b] === 32)));
  expect(midway.length, JSON.stringify(counts)).toBeGreaterThan(0);
  // Conserved throughout: never more than 64 actors shown, and 64 once they have all landed.
  for (const c of counts) expect((c[source!.name] ?? 0) + (c[a] ?? 0) + (c[b] ?? 0)).toBeLessThanOrEqual(64);
  const deltas = await page.evaluate(() => window.__deltas);
  expect(deltas).toEqual(expect.arrayContaining([`${a} +32 arriving`, `${b} +32 arriving`, `${source!.name} −32 leaving`]));
  // The labels go once the moves are over, leaving one count per VM.
  await expect(page.locator('[data-testid^="vm-delta-"]')).toHaveCount(0, { timeout: 15_000 });
  await expect(page.getByTestId(`vm-actors-${a}`)).toHaveText("32");
  await expect(page.getByTestId(`vm-actors-${b}`)).toHaveText("32");
  await keepScreenshot(page, "topology-after-split");
});

test("malleo watch streams a merge's step changes from the server as they happen", async ({ page, baseURL }) => {
  await signIn(page);
  const users = await apiQuery<{ id: string; name: string }[]>(page, "users.list");
  const admin = users.find((u) => u.name === "admin")!;
  const { secret } = await apiMutate<{ secret: string }>(page, "users.createToken", { userId: admin.id, name: "e2e watch" });
  const cliArgs = (...args: string[]) => [
    "--import",
    "tsx",
    "apps/cli/src/main.ts",
    ...args,
    "--url",
    baseURL!,
    "--token",
    secret,
  ];

  const halves = (await runningHeatVms(page)).filter((v) => v.actorCount === 32 && !v.lockedBy);
  expect(halves.length).toBeGreaterThanOrEqual(2);

  // Hold the workflow before its first step (its step rows cannot be written) until the watcher
  // is connected: otherwise a fast merge could end before the CLI has even started.
  const db = await e2eDatabase();
  await db.query("BEGIN");
  await db.query("LOCK TABLE operation_steps IN EXCLUSIVE MODE");
  let lines: Record<string, unknown>[] = [];
  try {
    const merge = spawnSync(process.execPath, cliArgs("merge", halves[0]!.name, halves[1]!.name, "--host", "pm-1", "--json"), {
      encoding: "utf8",
    });
    expect(merge.status, merge.stderr).toBe(0);
    const opId = (JSON.parse(merge.stdout) as { id: string }).id;

    const watch = spawn(process.execPath, cliArgs("watch", opId, "--json"), { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    watch.stdout.on("data", (d: Buffer) => (out += d.toString()));
    watch.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((r) => watch.once("exit", r));
    await expect.poll(() => out, { timeout: 60_000, message: `watch connects (stderr: ${err})` }).toContain('"watching"');
    expect(out).not.toContain('"step"');
    await db.query("COMMIT");

    expect(await exited, err).toBe(0);
    lines = out
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  } finally {
    await db.query("ROLLBACK").catch(() => undefined);
    await db.end();
  }
  expect(lines[0]).toMatchObject({ watching: expect.any(String), status: expect.stringMatching(/queued|running/) });
  const steps = lines.filter((l) => "step" in l);
  for (const name of ["validate", "provision", "checkpoint", "transfer", "cleanup"]) {
    expect(steps.filter((s) => s.step === name).map((s) => s.status)).toContain("succeeded");
  }
  // The watcher saw no step before the lock was released: each one reached it afterwards, in
  // the server's events (a Transfer's actor moves may also have it refetch for progress).
  expect(steps.filter((s) => s.via === "event").length).toBeGreaterThan(0);
  expect(steps.find((s) => s.step === "validate")?.via).toBe("event");
  expect(lines.at(-1)).toMatchObject({ status: "succeeded", error: null });
  const merged = (await runningHeatVms(page)).filter((v) => v.actorCount === 64);
  expect(merged).toHaveLength(1);
});
