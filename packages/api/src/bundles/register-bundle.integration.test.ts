import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { hostUpsert, userCreate } from "@malleo/db";
import { createTestDatabase, type TestDatabase } from "@malleo/db/admin";
import { buildBundle } from "@malleo/sdk/bundle/build";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashPassword } from "../auth/passwords";
import { httpCaller } from "../testing/http";
import { handleBundleUpload, type BundleUploadAnswer } from "./upload";

/**
 * Registering application bundles over HTTP against a real Postgres: built with esbuild from
 * real sources, checked in a real child process, stored, listed beside the installed kinds and
 * deployable with their manifest's schema; and every refusal, with nothing stored.
 */
let t: TestDatabase;
let dir: string;
let admin: string;
let operator: string;
const files: Record<string, Buffer> = {};
const repo = (p: string) => fileURLToPath(new URL(`../../../../${p}`, import.meta.url));
const http = httpCaller(() => t.db);

async function bundleOf(name: string, entry: string): Promise<void> {
  const out = join(dir, `${name}.mjs`);
  await buildBundle(entry, out);
  files[name] = readFileSync(out);
}

function source(name: string, text: string): string {
  const file = join(dir, `${name}.ts`);
  writeFileSync(file, text);
  return file;
}

beforeAll(async () => {
  t = await createTestDatabase();
  dir = mkdtempSync(join(tmpdir(), "malleo-bundle-test-"));
  await hostUpsert(t.db, { id: "pm-1", uri: "test:///default", cpus: 16, memoryMiB: 32768, vmQuota: 4 });
  await userCreate(t.db, { name: "ada", role: "admin", passwordHash: await hashPassword("admin password 1") });
  await userCreate(t.db, { name: "otto", role: "operator", passwordHash: await hashPassword("operator password 1") });
  admin = await http.signIn("ada", "admin password 1");
  operator = await http.signIn("otto", "operator password 1");
  await bundleOf("ranks", repo("applications/pagerank/test-fixtures/ranks-bundle.ts"));
  await bundleOf("pagerank", repo("applications/pagerank/src/index.ts"));
  await bundleOf("throws", repo("packages/sdk/src/test-fixtures/throws-at-load.ts"));
  await bundleOf("incomplete", repo("packages/sdk/src/test-fixtures/incomplete.ts"));
  await bundleOf("hangs", source("hangs", "setInterval(() => {}, 1000);\nawait new Promise(() => {});\nexport {};\n"));
  await bundleOf(
    "greedy",
    source("greedy", "const kept: number[][] = [];\nfor (;;) kept.push(new Array(1_000_000).fill(1));\nexport {};\n"),
  );
}, 120_000);

afterAll(async () => {
  await t?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Upload {
  status: number;
  answer: BundleUploadAnswer;
}

async function upload(
  body: Uint8Array,
  opts: { cookie?: string; headers?: Record<string, string>; limits?: Parameters<typeof handleBundleUpload>[1]["limits"] } = {},
): Promise<Upload> {
  const headers = new Headers({ "content-type": "application/javascript", origin: "http://localhost", ...opts.headers });
  if (opts.cookie) headers.set("cookie", opts.cookie);
  const req = new Request("http://localhost/api/applications/bundles", {
    method: "POST",
    headers,
    body: new Blob([new Uint8Array(body)]),
  });
  const res = await handleBundleUpload(req, { db: t.db, limits: opts.limits });
  return { status: res.status, answer: (await res.json()) as BundleUploadAnswer };
}

const refusal = (u: Upload) => ("error" in u.answer ? u.answer.error : undefined);
const stored = () => t.db.applicationBundle.count();
const audits = (ok: boolean) => t.db.auditEvent.count({ where: { procedure: "applications.registerBundle", ok } });

describe("registering application bundles", () => {
  it("an admin registers a bundle: stored with kind, version, sha256, bytes and manifest, listed beside the installed kinds, audited", async () => {
    const before = await audits(true);
    const u = await upload(files.ranks!, { cookie: admin });
    expect(u.status, JSON.stringify(u.answer)).toBe(201);
    expect(u.answer).toMatchObject({
      bundle: {
        kind: "ranks",
        version: "2.0.0",
        size: files.ranks!.byteLength,
        behaviors: ["ranks.partition"],
        registeredBy: "ada",
        created: true,
      },
    });
    const row = await t.db.applicationBundle.findFirstOrThrow({ where: { kind: "ranks" } });
    expect(Buffer.from(row.bytes).equals(files.ranks!)).toBe(true);
    expect(row.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(row.manifest).toMatchObject({ kind: "ranks", defaultConfig: { partitions: 16 }, configSchema: { type: "object" } });
    expect(await audits(true)).toBe(before + 1);

    const kinds = await http.call("applications.kinds", undefined, { cookie: operator, query: true });
    const list = kinds.data as unknown as { kind: string; source: string; versions: string[] }[];
    expect(list.map((k) => [k.kind, k.source])).toEqual(
      expect.arrayContaining([
        ["pagerank", "installed"],
        ["ranks", "bundle"],
      ]),
    );
    expect(list.find((k) => k.kind === "ranks")!.versions).toEqual(["2.0.0"]);
    const bundles = await http.call("applications.bundles", undefined, { cookie: operator, query: true });
    expect((bundles.data as unknown as { kind: string; sha256: string }[]).map((b) => [b.kind, b.sha256])).toEqual([
      ["ranks", row.sha256],
    ]);
    // Its state format (ranks declares none: 1) and no migrateState: what an upgrade to it would do to states.
    expect(bundles.data).toMatchObject([{ kind: "ranks", stateVersion: 1, migratesState: false }]);
  });

  it("the same bytes again are the same registration; other bytes under a registered kind and version are refused", async () => {
    const again = await upload(files.ranks!, { cookie: admin });
    expect(again.status).toBe(200);
    expect(again.answer).toMatchObject({ bundle: { kind: "ranks", created: false } });
    const other = Buffer.concat([files.ranks!, Buffer.from("\n// rebuilt\n")]);
    const u = await upload(other, { cookie: admin });
    expect(u.status).toBe(400);
    expect(refusal(u)!.message).toMatch(
      /version 2\.0\.0 of ranks is already registered with other bytes .*give the new bundle a new version/,
    );
    expect(await stored()).toBe(1);
  });

  it("refuses a bundle that throws at load, saying so; nothing stored, the refusal audited", async () => {
    const before = await audits(false);
    const u = await upload(files.throws!, { cookie: admin });
    expect(u.status).toBe(400);
    expect(refusal(u)!.problems).toEqual(["it does not load: database not configured"]);
    expect(await stored()).toBe(1);
    expect(await audits(false)).toBe(before + 1);
  });

  it("refuses a bundle that does not export the interface, naming what is missing", async () => {
    const u = await upload(files.incomplete!, { cookie: admin });
    expect(u.status).toBe(400);
    expect(refusal(u)!.message).toMatch(
      /`description` is missing.*`configSchema` is missing.*`actors\(appId, config\)` is missing/,
    );
    const empty = await upload(Buffer.from("export const nothing = 1;\n"), { cookie: admin });
    expect(refusal(empty)!.problems).toEqual(["it exports no application (defineApplication(…))"]);
    expect(await stored()).toBe(1);
  });

  it("refuses a bundle whose kind and behaviors clash with an installed application", async () => {
    const u = await upload(files.pagerank!, { cookie: admin });
    expect(u.status).toBe(400);
    expect(refusal(u)!.problems).toEqual([
      'kind "pagerank" is an installed application; register the bundle under another kind',
      'behavior "pagerank.partition" belongs to an installed application',
    ]);
    expect(await stored()).toBe(1);
  });

  it("a bundle that never finishes loading, or eats memory, is killed and refused", async () => {
    const hangs = await upload(files.hangs!, { cookie: admin, limits: { timeoutMs: 3_000 } });
    expect(refusal(hangs)!.problems).toEqual(["it did not load and answer within 3 s"]);
    const greedy = await upload(files.greedy!, { cookie: admin, limits: { memoryMiB: 64, timeoutMs: 60_000 } });
    expect(refusal(greedy)!.problems).toEqual(["it ran out of memory while loading (limit 64 MiB)"]);
    expect(await stored()).toBe(1);
  }, 90_000);

  it("refuses a bundle above 8 MiB before reading it all, and an empty body", async () => {
    const big = await upload(new Uint8Array(8 * 1024 * 1024 + 1), { cookie: admin });
    expect(big.status).toBe(413);
    expect(refusal(big)!.message).toMatch(/larger than 8388608 bytes \(8 MiB\)/);
    const empty = await upload(new Uint8Array(0), { cookie: admin });
    expect(empty.status).toBe(400);
    expect(refusal(empty)!.message).toMatch(/the bundle is empty/);
    expect(await stored()).toBe(1);
  });

  it("refuses an operator, an anonymous caller, another origin and a JSON body; each before the bundle is checked", async () => {
    const other = Buffer.concat([files.ranks!, Buffer.from("\n// other\n")]);
    const asOperator = await upload(other, { cookie: operator });
    expect(asOperator.status).toBe(403);
    expect(refusal(asOperator)!.message).toBe("registering a bundle needs the admin role; otto is an operator");
    expect((await upload(other)).status).toBe(401);
    const cross = await upload(other, { cookie: admin, headers: { origin: "https://evil.example" } });
    expect(cross.status).toBe(403);
    expect(refusal(cross)!.message).toMatch(/not from the Malleo console/);
    const json = await upload(other, { cookie: admin, headers: { "content-type": "application/json" } });
    expect(json.status).toBe(415);
    expect(await stored()).toBe(1);
  });

  it("a deploy of a bundle kind is validated by its manifest's schema, and planned by the module in a child process", async () => {
    const vms = [{ hostId: "pm-1", vcpus: 2, memoryMiB: 1024 }];
    const bad = await http.call(
      "applications.deploy",
      {
        applicationId: "r-bad",
        kind: "ranks",
        config: { nodes: 1, partitions: 2, maxOutDegree: 2, seed: 1, damping: 0.85, maxIterations: 5, iterationDelayMs: 0 },
        vms,
      },
      { cookie: operator },
    );
    expect(bad.status).toBe(400);
    expect(bad.message).toMatch(/the ranks configuration is invalid: nodes: /);
    const wrongVersion = await http.call(
      "applications.deploy",
      { applicationId: "r-bad", kind: "ranks", version: "9.9.9", config: {}, vms },
      { cookie: operator },
    );
    expect(wrongVersion.message).toBe("version 9.9.9 of ranks is not registered");
    expect(await t.db.application.count()).toBe(0);

    const config = { nodes: 60, partitions: 4, maxOutDegree: 3, seed: 7, damping: 0.85, maxIterations: 5, iterationDelayMs: 0 };
    const ok = await http.call("applications.deploy", { applicationId: "r-1", kind: "ranks", config, vms }, { cookie: operator });
    expect(ok.status, ok.message).toBe(200);
    const app = await t.db.application.findUniqueOrThrow({ where: { id: "r-1" } });
    expect(app).toMatchObject({ kind: "ranks", bundleVersion: "2.0.0", config });
    const op = await t.db.operation.findUniqueOrThrow({ where: { id: ok.data.id as string } });
    expect((op.plan as { targets: { actors: string[] }[] }).targets[0]!.actors).toEqual(
      [0, 1, 2, 3].map((i) => `uan://r-1/part-${i}`),
    );
  });
});
