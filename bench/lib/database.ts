import path from "node:path";
import { createDb, type Db } from "@malleo/db";
import { databaseUrl, ensureDatabase, migrateDatabase, startEmbeddedPostgres } from "@malleo/db/admin";

/** A fresh, migrated database on a benchmark's own embedded Postgres. */
export async function benchDatabase(name: string, port: number): Promise<{ url: string; db: Db; stop(): Promise<void> }> {
  const pg = await startEmbeddedPostgres({ dataDir: path.join(import.meta.dirname, "../../.data/bench", name), port });
  const admin = createDb(pg.url, { max: 1 });
  await admin.$executeRawUnsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  await admin.$executeRawUnsafe(`DROP DATABASE IF EXISTS "${name}_dbos" WITH (FORCE)`);
  await admin.$disconnect();
  await ensureDatabase(pg.url, name);
  const url = databaseUrl(pg.url, name);
  await migrateDatabase(url);
  const db = createDb(url);
  return {
    url,
    db,
    async stop() {
      await db.$disconnect();
      await pg.stop();
    },
  };
}
