import { createEventHub, operationDetail, type EventHub } from "@malleo/api";
import { createDb, type Db } from "@malleo/db";
import { env } from "../env";
import { logLine } from "./log";

/**
 * One Prisma client and one LISTEN fan-out per process, created on first use (never at build
 * time) and kept on globalThis so that module re-evaluation cannot open a second pool.
 */
const holder = globalThis as unknown as { malleoDb?: Db; malleoEvents?: EventHub };

export function getDb(): Db {
  return (holder.malleoDb ??= createDb(env.DATABASE_URL));
}

export function getEventHub(): EventHub {
  return (holder.malleoEvents ??= createEventHub(env.DATABASE_URL, {
    onError: (e) => logLine("warn", "events listener", { error: e.message }),
    // A step change reaches open operation pages with the operation itself: no refetch per tab.
    loadOperation: (id) => operationDetail(getDb(), id),
  }));
}
