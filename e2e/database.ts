import pg from "pg";

/** The e2e run's own Postgres (playwright.config.ts starts it on MALLEO_E2E_PG_PORT; scripts/start.ts names the database). */
export async function e2eDatabase(): Promise<pg.Client> {
  const client = new pg.Client({
    connectionString: `postgres://malleo:malleo@127.0.0.1:${process.env.MALLEO_E2E_PG_PORT ?? "54331"}/malleo`,
  });
  await client.connect();
  return client;
}
