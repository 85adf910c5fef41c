import { rmSync } from "node:fs";
import path from "node:path";
import pg from "pg";
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

/**
 * A fresh data directory, embedded Postgres and migrated `bench` database for one benchmark
 * (port: MALLEO_BENCH_PG_PORT or `defaultPort`), with a plain pg client for seeding and baselines.
 */
export async function benchPgClient(
  name: string,
  defaultPort: number,
): Promise<{ url: string; client: pg.Client; stop(): Promise<void> }> {
  const dir = path.join(import.meta.dirname, "../../.data", `bench-${name}`);
  rmSync(dir, { recursive: true, force: true });
  const server = await startEmbeddedPostgres({ dataDir: dir, port: Number(process.env.MALLEO_BENCH_PG_PORT ?? defaultPort) });
  try {
    await ensureDatabase(server.url, "bench");
    const url = databaseUrl(server.url, "bench");
    await migrateDatabase(url);
    const client = new pg.Client({ connectionString: url });
    client.on("error", () => undefined); // the server may stop before the client has ended
    await client.connect();
    return {
      url,
      client,
      async stop() {
        await client.end().catch(() => undefined);
        await server.stop();
      },
    };
  } catch (e) {
    await server.stop();
    throw e;
  }
}
