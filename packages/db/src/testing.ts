import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { createDb, type Db } from "./client";
import { databaseUrl } from "./embedded-postgres";
import { migrateDatabase } from "./migrate";

const dbosCli = path.resolve(import.meta.dirname, "../../../node_modules/@dbos-inc/dbos-sdk/dist/src/cli/cli.js");

async function withAdmin<T>(baseUrl: string, work: (admin: pg.Client) => Promise<T>): Promise<T> {
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  try {
    return await work(admin);
  } finally {
    await admin.end();
  }
}

/**
 * (Re)creates two template databases on the server of `baseUrl`: `name`, migrated, and
 * `<name>_dbos` holding DBOS's system tables (created by DBOS's own `dbos schema`). A harness
 * that starts many workers clones both for each of them (createFromTemplates): a worker whose
 * DBOS system database is already migrated launches DBOS in a fraction of the time a fresh one
 * takes (DBOS.launch still checks, and would apply, any migration the template lacked).
 */
export async function createTemplates(baseUrl: string, name: string): Promise<void> {
  await withAdmin(baseUrl, async (admin) => {
    for (const db of [name, `${name}_dbos`]) await admin.query(`DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`);
    await admin.query(`CREATE DATABASE "${name}"`);
    await admin.query(`CREATE DATABASE "${name}_dbos"`);
  });
  await Promise.all([
    migrateDatabase(databaseUrl(baseUrl, name)),
    promisify(execFile)(process.execPath, [dbosCli, "schema", databaseUrl(baseUrl, `${name}_dbos`)]),
  ]);
}

/**
 * Creates `name` from the template `template` and, with `systemDatabase`, DBOS's sibling
 * `<name>_dbos` (the worker's default system database, systemDatabaseUrlFor) from `<template>_dbos`.
 */
export async function createFromTemplates(
  baseUrl: string,
  name: string,
  template: string,
  opts: { systemDatabase?: boolean } = {},
): Promise<string> {
  await withAdmin(baseUrl, async (admin) => {
    await admin.query(`CREATE DATABASE "${name}" TEMPLATE "${template}"`);
    if (opts.systemDatabase) await admin.query(`CREATE DATABASE "${name}_dbos" TEMPLATE "${template}_dbos"`);
  });
  return databaseUrl(baseUrl, name);
}

export interface TestDatabase {
  url: string;
  db: Db;
  drop(): Promise<void>;
}

/**
 * A fresh, migrated database of its own for one test file, cloned from the template that the
 * integration tier's global setup migrated (graphile-worker's pattern). With `systemDatabase`,
 * also the worker's DBOS system database (`<name>_dbos`), cloned from the template's, DBOS's
 * tables already there: for a file that starts a worker (a fresh one costs its first DBOS launch
 * its migrations). Without it there is none until a worker creates it. drop() drops both.
 */
export async function createTestDatabase(opts: { systemDatabase?: boolean } = {}): Promise<TestDatabase> {
  const base = process.env.MALLEO_TEST_PG_URL;
  const template = process.env.MALLEO_TEST_TEMPLATE;
  if (!base || !template) throw new Error("integration tests need the global setup in vitest.config.ts (run `npm test`)");
  const name = `malleo_t_${randomBytes(6).toString("hex")}`;
  const url = await createFromTemplates(base, name, template, opts);
  const db = createDb(url, { max: 5 });
  return {
    url,
    db,
    async drop() {
      await db.$disconnect();
      await withAdmin(base, async (a) => {
        for (const d of [name, `${name}_dbos`]) await a.query(`DROP DATABASE IF EXISTS "${d}" WITH (FORCE)`);
      });
    },
  };
}
