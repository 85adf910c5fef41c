import { chmodSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { checkPostgresUserCanReach } from "./embedded-postgres";

const base = mkdtempSync(path.join(os.tmpdir(), "malleo-pgreach-"));
afterAll(() => rmSync(base, { recursive: true, force: true }));

describe("checkPostgresUserCanReach", () => {
  it("names a directory the postgres user cannot enter when run by root, and how to fix it", () => {
    const closed = path.join(base, "closed");
    mkdirSync(path.join(closed, "project"), { recursive: true });
    chmodSync(closed, 0o700);
    expect(() => checkPostgresUserCanReach([path.join(closed, "project")], 0)).toThrow(
      `that user cannot enter ${closed} (mode 700): run \`chmod o+x ${closed}\``,
    );
    chmodSync(closed, 0o711);
    chmodSync(base, 0o755);
    expect(() => checkPostgresUserCanReach([path.join(closed, "project")], 0)).not.toThrow();
  });

  it("checks nothing for other users (Postgres then runs as that user)", () => {
    const closed = path.join(base, "private");
    mkdirSync(closed, { recursive: true, mode: 0o700 });
    expect(() => checkPostgresUserCanReach([closed], 1000)).not.toThrow();
  });
});
