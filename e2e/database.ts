import pg from "pg";

/** The e2e run's own Postgres (playwright.config.ts starts it on MALLEO_E2E_PG_PORT; scripts/start.ts names the database). */
export async function e2eDatabase(): Promise<pg.Client> {
  const client = new pg.Client({
    connectionString: `postgres://malleo:malleo@127.0.0.1:${process.env.MALLEO_E2E_PG_PORT ?? "22331"}/malleo`,
  });
  await client.connect();
  return client;
}

/** The status DBOS records for a workflow (the operation's id is its workflow's), or null if it has none. */
export async function workflowStatus(operationId: string): Promise<string | null> {
  const client = new pg.Client({
    connectionString: `postgres://malleo:malleo@127.0.0.1:${process.env.MALLEO_E2E_PG_PORT ?? "22331"}/malleo_dbos`,
  });
  await client.connect();
  try {
    const r = await client.query<{ status: string }>("SELECT status FROM dbos.workflow_status WHERE workflow_uuid = $1", [
      operationId,
    ]);
    return r.rows[0]?.status ?? null;
  } finally {
    await client.end();
  }
}
