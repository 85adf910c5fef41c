import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient, type Prisma } from "./generated/prisma/client";

export type Db = PrismaClient;
/** A client or an interactive transaction: what repositories that may run inside one take. */
export type DbOrTx = PrismaClient | Prisma.TransactionClient;

// On the client itself, under a registered symbol: a bundler (Next.js) may load this module more
// than once, so a module-level map would not know clients made by another copy.
const URL_KEY = Symbol.for("malleo.databaseUrl");

/** One Prisma client per process and database URL. */
export function createDb(url: string, opts: { max?: number } = {}): Db {
  const adapter = new PrismaPg({ connectionString: url, max: opts.max ?? 10 });
  const db = new PrismaClient({ adapter });
  Object.defineProperty(db, URL_KEY, { value: url, enumerable: false });
  return db;
}

/** The URL a client made by `createDb` connects to (what the workflow queue's client derives its own from). */
export function databaseUrlOf(db: Db): string {
  const url = (db as unknown as Record<symbol, string | undefined>)[URL_KEY];
  if (!url) throw new Error("this database client was not made by createDb: its URL is unknown");
  return url;
}
