import { describe, expect, it } from "vitest";
import { createDb, databaseUrlOf, type Db } from "./client";

describe("databaseUrlOf", () => {
  it("gives the URL a client was made with, even with DATABASE_URL naming another database", async () => {
    const before = process.env.DATABASE_URL;
    process.env.DATABASE_URL = "postgres://other@127.0.0.1:1/elsewhere";
    try {
      // Prisma connects lazily: nothing listens on port 1 and nothing is asked of it here.
      const db = createDb("postgres://malleo@127.0.0.1:1/malleo_a");
      expect(databaseUrlOf(db)).toBe("postgres://malleo@127.0.0.1:1/malleo_a");
      await db.$disconnect();
    } finally {
      if (before === undefined) delete process.env.DATABASE_URL;
      else process.env.DATABASE_URL = before;
    }
  });

  it("refuses a client it did not make rather than guessing from the environment", () => {
    const before = process.env.DATABASE_URL;
    process.env.DATABASE_URL = "postgres://other@127.0.0.1:1/elsewhere";
    try {
      expect(() => databaseUrlOf({} as Db)).toThrow("not made by createDb");
    } finally {
      if (before === undefined) delete process.env.DATABASE_URL;
      else process.env.DATABASE_URL = before;
    }
  });
});
