import { randomBytes } from "node:crypto";
import pg from "pg";
import { createDb, type Db } from "./client";
import { databaseUrl } from "./embedded-postgres";

export interface TestDatabase {
  url: string;
  db: Db;
  drop(): Promise<void>;
}

/**
 * A fresh, migrated database of its own for one test file, cloned from the template that the
 * integration tier's global setup migrated (graphile-worker's pattern).
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const base = process.env.MALLEO_TEST_PG_URL;
  const template = process.env.MALLEO_TEST_TEMPLATE;
  if (!base || !template) throw new Error("integration tests need the global setup in vitest.config.ts (run `npm test`)");
  const name = `malleo_t_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}" TEMPLATE "${template}"`);
  await admin.end();
  const url = databaseUrl(base, name);
  const db = createDb(url, { max: 5 });
  return {
    url,
    db,
    async drop() {
      await db.$disconnect();
      const a = new pg.Client({ connectionString: base });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await a.end();
    },
  };
}
