import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient, type Prisma } from "./generated/prisma/client";

export type Db = PrismaClient;
/** A client or an interactive transaction: what repositories that may run inside one take. */
export type DbOrTx = PrismaClient | Prisma.TransactionClient;

/** One Prisma client per process and database URL. */
export function createDb(url: string, opts: { max?: number } = {}): Db {
  const adapter = new PrismaPg({ connectionString: url, max: opts.max ?? 10 });
  return new PrismaClient({ adapter });
}
