import { AppError } from "@malleo/core";

/**
 * Postgres going away for a moment (restart, failover, dropped connection) is retried, not
 * failed. Only errors raised by the database client count: a theater's dropped connection
 * during a migration is a real failure of that step, not a reason to retry it.
 */
export function isTransientDatabaseError(e: unknown): boolean {
  if (!(e instanceof Error) || AppError.is(e)) return false;
  const code = String((e as { code?: unknown }).code ?? "");
  const fromDatabaseClient = /^Prisma|DriverAdapterError/.test(e.name) || /^(08|57P0)/.test(code);
  if (!fromDatabaseClient && !/Can't reach database server/.test(e.message)) return false;
  return /ECONNREFUSED|ECONNRESET|EPIPE|Connection terminated|terminating connection|Can't reach database|database system is (starting up|shutting down)|P1001|P1017|^08|^57P0|connection.*(closed|ended)/i.test(
    `${code} ${e.message}`,
  );
}

/** Every step is idempotent, so a transient database error retries it with backoff (~1 minute in all). */
export const RETRY_TRANSIENT = {
  retriesAllowed: true,
  maxAttempts: 12,
  intervalSeconds: 0.5,
  backoffRate: 1.5,
  shouldRetry: isTransientDatabaseError,
} as const;
