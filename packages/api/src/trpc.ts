/**
 * tRPC setup, in create-t3-app's order: context, initialisation, procedures.
 * Only this layer turns AppError codes into transport errors.
 */
import { AppError, type ErrorCode } from "@malleo/core";
import type { Db } from "@malleo/db";
import { initTRPC, TRPCError } from "@trpc/server";
import superjson from "superjson";
import { z } from "zod";
import { describeInputIssues, inputIssuesOf, trpcCodeForAppCode, type InputIssue } from "./errors";
import type { EventHub } from "./event-hub";

// 1. Context -------------------------------------------------------------------------------

export interface Context {
  db: Db;
  /** Who asked: recorded on every operation. */
  operator: string;
  events: EventHub;
}

const operatorHeader = z
  .string()
  .trim()
  .regex(/^[\w.@:-]{1,64}$/);

/** The CLI names itself with `x-malleo-operator`; the browser UI is "web". */
export function createTRPCContext(opts: { db: Db; events: EventHub; headers: Headers }): Context {
  const named = operatorHeader.safeParse(opts.headers.get("x-malleo-operator") ?? "");
  return { db: opts.db, events: opts.events, operator: named.success ? named.data : "web" };
}

// 2. Initialisation -------------------------------------------------------------------------

export interface AppErrorData {
  /** The domain code (QUOTA_EXCEEDED, VM_LOCKED, …), or null for transport-level failures. */
  appCode: ErrorCode | null;
  details: Record<string, unknown> | null;
  /** For INVALID_INPUT: each rejected field and what would be accepted. */
  issues: InputIssue[] | null;
}

const t = initTRPC.context<Context>().create({
  transformer: superjson,
  sse: {
    // Pings keep proxies from closing an idle stream; the client reconnects after silence.
    ping: { enabled: true, intervalMs: 10_000 },
    client: { reconnectAfterInactivityMs: 25_000 },
  },
  errorFormatter({ shape, error }) {
    const cause = error.cause;
    const issues = inputIssuesOf(cause);
    let data: AppErrorData = { appCode: null, details: null, issues: null };
    let message = shape.message;
    if (AppError.is(cause)) {
      data = { appCode: cause.code, details: cause.details, issues: inputIssuesOf(cause.details) ?? null };
      message = cause.message;
    } else if (issues && error.code === "BAD_REQUEST") {
      data = { appCode: "INVALID_INPUT", details: null, issues };
      message = describeInputIssues(issues);
    } else if (error.code === "INTERNAL_SERVER_ERROR") {
      // Database and driver messages are for the server log, not for the browser.
      message = "unexpected server error; the web server log has the details";
    }
    return { ...shape, message, data: { ...shape.data, ...data } };
  },
});

export const createCallerFactory = t.createCallerFactory;
export const createTRPCRouter = t.router;

// 3. Procedures -----------------------------------------------------------------------------

/** Domain refusals (AppError) become tRPC errors with the matching code and status. */
const appErrors = t.middleware(async ({ next }) => {
  const result = await next();
  if (!result.ok && AppError.is(result.error.cause)) {
    const cause = result.error.cause;
    throw new TRPCError({ code: trpcCodeForAppCode(cause.code), message: cause.message, cause });
  }
  return result;
});

export const publicProcedure = t.procedure.use(appErrors);
