// `malleo bundle build` and `malleo bundle register` against the real upload route (served over
// HTTP here by handleBundleUpload, as the web process serves it), a real Postgres and an API token.
import { randomUUID } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createCaller, createEventHub, handleBundleUpload } from "@malleo/api";
import { userCreate } from "@malleo/db";
import { createTestDatabase, type TestDatabase } from "@malleo/db/admin";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundleBuildCommand, bundleRegisterCommand } from "./bundle";
import { serveFetchHandler, type ServedHandler } from "./test-server";

let t: TestDatabase;
let served: ServedHandler;
let url: string;
let token: string;
let dir: string;

/** An application folder whose module is `file` (outside it): what `bundle build` is pointed at. */
function folder(name: string, file: string): string {
  const d = join(dir, name);
  mkdirSync(join(d, "src"), { recursive: true });
  writeFileSync(join(d, "src/index.ts"), `export * from ${JSON.stringify(file)};\n`);
  return d;
}

beforeAll(async () => {
  t = await createTestDatabase();
  dir = mkdtempSync(join(tmpdir(), "malleo-cli-bundle-"));
  const ada = await userCreate(t.db, { name: "ada", role: "admin", passwordHash: "unused" });
  const caller = createCaller({
    db: t.db,
    events: createEventHub("postgres://unused"),
    headers: new Headers(),
    user: { id: ada.id, name: "ada", role: "admin", via: "session" },
  });
  token = (await caller.users.createToken({ userId: ada.id, name: `cli-${randomUUID().slice(0, 8)}` })).secret;
  served = await serveFetchHandler((request) => handleBundleUpload(request, { db: t.db }));
  url = served.url;
}, 60_000);

afterAll(async () => {
  await served?.close();
  await t?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("malleo bundle", () => {
  it("builds a folder into one file and registers it with an API token; a bundle that throws at load is refused with its reason", async () => {
    const built = await bundleBuildCommand(
      folder("ranks", fileURLToPath(new URL("../../../applications/pagerank/test-fixtures/ranks-bundle.ts", import.meta.url))),
      undefined,
    );
    expect(built.file).toBe(join(dir, "ranks", "dist", "ranks.bundle.mjs"));
    const registered = await bundleRegisterCommand(url, token, built.file);
    expect(registered).toMatchObject({ kind: "ranks", version: "2.0.0", created: true, registeredBy: "ada", size: built.bytes });
    expect(await t.db.applicationBundle.count()).toBe(1);

    const throws = await bundleBuildCommand(
      folder("throws", fileURLToPath(new URL("../../../packages/sdk/src/test-fixtures/throws-at-load.ts", import.meta.url))),
      join(dir, "throws.mjs"),
    );
    await expect(bundleRegisterCommand(url, token, throws.file)).rejects.toThrow(
      "the bundle is refused: it does not load: database not configured",
    );
    await expect(bundleRegisterCommand(url, "mlt_not-a-token", built.file)).rejects.toThrow(/sign in \(or send an API token\)/);
    expect(await t.db.applicationBundle.count()).toBe(1);
  });
});
