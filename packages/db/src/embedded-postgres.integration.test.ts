// The embedded Postgres the tests, `npm start` and the chaos suite run is durable: a commit is
// on disk before it is acknowledged (checkpoints and recorded steps survive a crash).
import pg from "pg";
import { describe, expect, it } from "vitest";

describe("embedded Postgres", () => {
  it("runs with fsync, synchronous commit and full page writes on", async () => {
    const client = new pg.Client({ connectionString: process.env.MALLEO_TEST_PG_URL });
    await client.connect();
    try {
      const settings = await client.query<{ name: string; setting: string }>(
        "SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes') ORDER BY name",
      );
      expect(settings.rows).toEqual([
        { name: "fsync", setting: "on" },
        { name: "full_page_writes", setting: "on" },
        { name: "synchronous_commit", setting: "on" },
      ]);
    } finally {
      await client.end();
    }
  });
});
