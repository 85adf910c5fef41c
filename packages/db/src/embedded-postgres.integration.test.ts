// The embedded Postgres the tests, `npm start` and the chaos suite run is durable: a commit is
// on disk before it is acknowledged (checkpoints and recorded steps survive a crash). One that
// cannot start says why, naming the port, rather than rejecting with nothing.
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { startEmbeddedPostgres } from "./embedded-postgres";

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

  it("refuses to start on a port another process holds, naming the port and the reason", async () => {
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
    const port = (holder.address() as net.AddressInfo).port;
    const dir = mkdtempSync(path.join(os.tmpdir(), "malleo-pg-held-"));
    chmodSync(dir, 0o755); // the postgres user enters it
    try {
      await expect(startEmbeddedPostgres({ dataDir: path.join(dir, "data"), port })).rejects.toThrow(
        new RegExp(`^Postgres did not start on port ${port} \\(data directory .*\\): .*in use.* another process holds the port`),
      );
    } finally {
      holder.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
