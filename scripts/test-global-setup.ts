// Starts one embedded Postgres for the integration tier and migrates a template database;
// each test file then creates its own database from the template (packages/db testing.ts).
import { rmSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import { databaseUrl, migrateDatabase, startEmbeddedPostgres, type EmbeddedPostgresHandle } from "@malleo/db/admin";

const TEMPLATE = "malleo_template";
let handle: EmbeddedPostgresHandle | undefined;

export async function setup(): Promise<void> {
  const root = path.resolve(import.meta.dirname, "..");
  const port = Number(process.env.MALLEO_TEST_PG_PORT ?? 54330);
  handle = await startEmbeddedPostgres({ dataDir: path.resolve(root, process.env.MALLEO_TEST_PG_DIR ?? ".data/test-pg"), port });
  const admin = new pg.Client({ connectionString: handle.url });
  await admin.connect();
  // Databases left by an earlier interrupted run are dropped; the template is rebuilt so it matches the migrations.
  const stale = await admin.query<{ datname: string }>(
    "SELECT datname FROM pg_database WHERE datname LIKE 'malleo_t_%' OR datname = $1",
    [TEMPLATE],
  );
  for (const { datname } of stale.rows) await admin.query(`DROP DATABASE "${datname}" WITH (FORCE)`);
  await admin.query(`CREATE DATABASE "${TEMPLATE}"`);
  await admin.end();
  await migrateDatabase(databaseUrl(handle.url, TEMPLATE));
  process.env.MALLEO_TEST_PG_URL = handle.url;
  process.env.MALLEO_TEST_TEMPLATE = TEMPLATE;
}

export async function teardown(): Promise<void> {
  await handle?.stop();
  if (process.env.MALLEO_TEST_PG_WIPE === "1")
    rmSync(path.resolve(import.meta.dirname, "..", process.env.MALLEO_TEST_PG_DIR ?? ".data/test-pg"), {
      recursive: true,
      force: true,
    });
}
