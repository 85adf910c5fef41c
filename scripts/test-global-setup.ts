// Starts one embedded Postgres for the integration tier and makes the template databases (migrated,
// and DBOS's system tables); each test file then creates its own from them (packages/db testing.ts).
// It also builds the theater once from the checkout (scripts/build-entry.ts) and names the build in
// MALLEO_THEATER_BUILD, so that the tests' local theaters start without tsx.
import { rmSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import { createTemplates, startEmbeddedPostgres, type EmbeddedPostgresHandle } from "@malleo/db/admin";
import { buildTheater } from "./build-entry";

const TEMPLATE = "malleo_template";
let handle: EmbeddedPostgresHandle | undefined;
const root = path.resolve(import.meta.dirname, "..");
// Under the checkout (node_modules resolves from there); one directory per run.
const buildDir = path.join(root, ".data/build", `tests-${process.pid}`);

export async function setup(): Promise<void> {
  await buildTheater(path.join(buildDir, "theater.mjs"));
  const port = Number(process.env.MALLEO_TEST_PG_PORT ?? 22330);
  handle = await startEmbeddedPostgres({
    dataDir: path.resolve(root, process.env.MALLEO_TEST_PG_DIR ?? ".data/test-pg"),
    port,
  });
  const admin = new pg.Client({ connectionString: handle.url });
  await admin.connect();
  // Databases left by an earlier interrupted run are dropped; the templates are rebuilt so they match the migrations.
  const stale = await admin.query<{ datname: string }>("SELECT datname FROM pg_database WHERE datname LIKE 'malleo_t_%'");
  for (const { datname } of stale.rows) await admin.query(`DROP DATABASE "${datname}" WITH (FORCE)`);
  await admin.end();
  // The migrated template, and its DBOS sibling for the files that start a worker (createTestDatabase).
  await createTemplates(handle.url, TEMPLATE);
  process.env.MALLEO_TEST_PG_URL = handle.url;
  process.env.MALLEO_TEST_TEMPLATE = TEMPLATE;
}

export async function teardown(): Promise<void> {
  await handle?.stop();
  rmSync(buildDir, { recursive: true, force: true });
  if (process.env.MALLEO_TEST_PG_WIPE === "1")
    rmSync(path.resolve(root, process.env.MALLEO_TEST_PG_DIR ?? ".data/test-pg"), {
      recursive: true,
      force: true,
    });
}
