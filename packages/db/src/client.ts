import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient, type Prisma } from "./generated/prisma/client";

export type Db = PrismaClient;
/** A client or an interactive transaction: what repositories that may run inside one take. */
export type DbOrTx = PrismaClient | Prisma.TransactionClient;

const urls = new WeakMap<Db, string>();

/** One Prisma client per process and database URL. */
export function createDb(url: string, opts: { max?: number } = {}): Db {
  const adapter = new PrismaPg({ connectionString: url, max: opts.max ?? 10 });
  const db = new PrismaClient({ adapter });
  urls.set(db, url);
  return db;
}

/** The URL a client made by `createDb` connects to (what the workflow queue's client derives its own from). */
export function databaseUrlOf(db: Db): string {
  const url = urls.get(db);
  if (!url) throw new Error("this database client was not made by createDb; its URL is unknown");
  return url;
}
