/**
 * tRPC setup, in create-t3-app's order: context, initialisation, procedures.
 * Only this layer turns AppError codes into transport errors.
 */
import { AppError, type ErrorCode } from "@malleo/core";
import type { Db } from "@malleo/db";
import { initTRPC, TRPCError } from "@trpc/server";
import superjson from "superjson";
import { describeInputIssues, inputIssuesOf, trpcCodeForAppCode, type InputIssue } from "./errors";
import type { EventHub } from "./event-hub";
import { authenticate, type AuthUser } from "./auth/authenticate";
import { roleAllows, type Role } from "./auth/roles";
import type { SignInThrottle } from "./auth/throttle";
import { auditMutation } from "./audit";
import { findHostileInput } from "./input-guard";

// 1. Context -------------------------------------------------------------------------------

export interface Context {
  db: Db;
  events: EventHub;
  /** Who asked (session cookie or API token); null when unauthenticated. Recorded on every operation and audit row. */
  user: AuthUser | null;
  /** The request's headers (sign-out reads the session cookie from them). */
  headers: Headers;
  /** Response headers, for Set-Cookie on sign-in and sign-out; absent for server-side callers. */
  resHeaders?: Headers;
  /** Mark session cookies Secure (when served over HTTPS). */
  secureCookies?: boolean;
  /** The client's address for sign-in throttling, when known (see clientAddressOf). */
  clientAddress?: string;
  /** Sign-in limits; DEFAULT_SIGN_IN_THROTTLE when absent. */
  signInThrottle?: SignInThrottle;
}

/** Authenticates the request: an `Authorization: Bearer` API token or the session cookie. */
export async function createTRPCContext(opts: {
  db: Db;
  events: EventHub;
  headers: Headers;
  resHeaders?: Headers;
  secureCookies?: boolean;
  clientAddress?: string;
  signInThrottle?: SignInThrottle;
}): Promise<Context> {
  return { ...opts, user: await authenticate(opts.db, opts.headers) };
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

/** Every mutation, allowed or refused, leaves an audit row: who, when, procedure, input, outcome. */
const audit = t.middleware(async ({ ctx, type, path, getRawInput, next }) => {
  const result = await next();
  if (type === "mutation") {
    await auditMutation(ctx.db, { user: ctx.user, path, rawInput: await getRawInput().catch(() => undefined), result });
  }
  return result;
});

/**
 * Refuses, before any schema or handler runs, input that no procedure accepts: prototype keys
 * at any depth, control and bidirectional-override characters, and sizes past INPUT_LIMITS.
 */
const inputGuard = t.middleware(async ({ getRawInput, next }) => {
  const refusal = findHostileInput(await getRawInput());
  if (refusal) {
    const issues = [{ path: refusal.path === "input" ? [] : refusal.path.split("."), message: refusal.message }];
    throw new TRPCError({
      code: "BAD_REQUEST",
      message: refusal.message,
      cause: Object.assign(new Error(refusal.message), { issues }),
    });
  }
  return next();
});

/** No sign-in needed: only sign-in itself. */
export const publicProcedure = t.procedure.use(audit).use(inputGuard).use(appErrors);

function requireRole(needed: Role) {
  return t.middleware(({ ctx, next }) => {
    if (!ctx.user)
      throw new TRPCError({ code: "UNAUTHORIZED", message: "sign in first (or send an API token as Authorization: Bearer)" });
    if (!roleAllows(ctx.user.role, needed)) {
      throw new TRPCError({
        code: "FORBIDDEN",
        message: `${ctx.user.name} is a ${ctx.user.role}; this needs the ${needed} role — ask an admin`,
      });
    }
    return next({ ctx: { ...ctx, user: ctx.user } });
  });
}

/** Signed in with any role: reading topology, operations, history and charts. */
export const viewerProcedure = publicProcedure.use(requireRole("viewer"));
/** Changing VMs: split, merge, cancel. */
export const operatorProcedure = publicProcedure.use(requireRole("operator"));
/** Managing users and API tokens. */
export const adminProcedure = publicProcedure.use(requireRole("admin"));
