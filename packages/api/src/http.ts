/**
 * The API's HTTP entry: what happens to a request before tRPC sees it. A mutation must come from
 * the console's own origin and carry JSON (request-origin.ts). The body is bounded, and its raw
 * JSON is checked for hostile input before superjson deserialises it — superjson drops
 * `__proto__` keys silently, so past this point they could no longer be seen or refused.
 */
import type { Db } from "@malleo/db";
import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { auditMutation } from "./audit";
import { authenticate } from "./auth/authenticate";
import type { EventHub } from "./event-hub";
import { findHostileInput, type InputRefusal } from "./input-guard";
import { checkMutationRequest, type OriginPolicy } from "./request-origin";
import { clientAddressOf, type SignInThrottle } from "./auth/throttle";
import { appRouter } from "./root";
import { createTRPCContext } from "./trpc";

/** The largest request body accepted: every procedure's input fits in a few kilobytes. */
export const MAX_BODY_BYTES = 64 * 1024;

export interface ApiRequestOptions {
  db: Db;
  events: EventHub;
  /** Mark session cookies Secure. */
  secureCookies?: boolean;
  onError?: Parameters<typeof fetchRequestHandler>[0]["onError"];
  /** Which origins may send mutations, and whether X-Forwarded-* headers are believed. */
  origin?: OriginPolicy;
  /** The client's socket address, when the server knows it (sign-in throttling). */
  socketAddress?: string;
  /** Sign-in limits; DEFAULT_SIGN_IN_THROTTLE when absent. */
  signInThrottle?: SignInThrottle;
}

/** The procedures that hash a password the caller sends. */
const PASSWORD_CHECKS = new Set(["auth.signIn", "auth.changePassword"]);

/** tRPC's JSON-RPC error codes for the refusals made here. */
const RPC_CODE: Record<number, number> = { 400: -32600, 403: -32003, 413: -32013, 415: -32015 };

/** tRPC's error shape (superjson-wrapped), one per call of a batch. */
function refusalResponse(status: number, code: string, message: string, calls: number, issues: InputRefusal[] = []): Response {
  const error = {
    json: {
      message,
      code: RPC_CODE[status] ?? -32600,
      data: {
        code,
        httpStatus: status,
        appCode: status === 400 ? "INVALID_INPUT" : null,
        details: null,
        issues: issues.length ? issues : null,
      },
    },
  };
  const body = calls > 1 ? Array.from({ length: calls }, () => ({ error })) : { error };
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

/** The request's body, or null once it is larger than `maxBytes` (declared or read); reading stops there. */
export async function readBoundedBytes(req: Request, maxBytes: number): Promise<Buffer | null> {
  const declared = Number(req.headers.get("content-length") ?? NaN);
  if (Number.isFinite(declared) && declared > maxBytes) return null;
  if (!req.body) return Buffer.alloc(0);
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => {});
      return null;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

async function readBounded(req: Request, maxBytes: number): Promise<string | null> {
  return (await readBoundedBytes(req, maxBytes))?.toString("utf8") ?? null;
}

/** Each call's raw input of a tRPC request: a batch is `{"0": …, "1": …}`, a single call the value itself. */
function rawInputs(text: string, batch: boolean): unknown[] | "malformed" {
  if (text === "") return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return "malformed";
  }
  if (!batch) return [parsed];
  if (parsed === null || typeof parsed !== "object") return "malformed";
  return Object.values(parsed);
}

export async function handleApiRequest(incoming: Request, opts: ApiRequestOptions): Promise<Response> {
  const url = new URL(incoming.url);
  const paths = decodeURIComponent(url.pathname.replace(/^.*\/api\/trpc\/?/, "")).split(",");
  const batch = url.searchParams.get("batch") === "1";
  let req = incoming;
  let text = url.searchParams.get("input") ?? "";
  if (incoming.method === "POST") {
    const refused = checkMutationRequest(incoming, opts.origin);
    if (refused) return refusalResponse(refused.status, refused.code, refused.message, paths.length);
    // Each password check costs a 32 MiB scrypt: one request may carry one, so a batch cannot multiply them.
    if (paths.filter((p) => PASSWORD_CHECKS.has(p)).length > 1)
      return refusalResponse(
        400,
        "BAD_REQUEST",
        "one password check per request: a batch may carry auth.signIn or auth.changePassword only once",
        paths.length,
      );
    const body = await readBounded(incoming, MAX_BODY_BYTES);
    if (body === null)
      return refusalResponse(413, "PAYLOAD_TOO_LARGE", `the request body is larger than ${MAX_BODY_BYTES} bytes`, paths.length);
    text = body;
    req = new Request(incoming.url, { method: "POST", headers: incoming.headers, body, signal: incoming.signal });
  }
  const inputs = rawInputs(text, batch);
  if (inputs === "malformed") return refusalResponse(400, "BAD_REQUEST", "the request body is not JSON", paths.length);
  for (const [i, raw] of inputs.entries()) {
    const refusal = findHostileInput(raw);
    if (!refusal) continue;
    const path = paths[i] ?? paths[0] ?? "";
    // A refused mutation is audited like any other; a query is not (queries are never audited).
    if (incoming.method === "POST") {
      const user = await authenticate(opts.db, incoming.headers).catch(() => null);
      await auditMutation(opts.db, {
        user,
        path,
        rawInput: raw !== null && typeof raw === "object" && "json" in raw ? (raw as { json: unknown }).json : raw,
        result: { ok: false, error: new Error(`${refusal.path}: ${refusal.message}`) },
      });
    }
    const where = refusal.path.replace(/^json\.?/, "") || "input";
    return refusalResponse(400, "BAD_REQUEST", refusal.message, paths.length, [{ path: where, message: refusal.message }]);
  }
  return fetchRequestHandler({
    endpoint: "/api/trpc",
    req,
    router: appRouter,
    createContext: ({ resHeaders }) =>
      createTRPCContext({
        db: opts.db,
        events: opts.events,
        headers: req.headers,
        resHeaders,
        secureCookies: opts.secureCookies,
        clientAddress: clientAddressOf(req.headers, opts.origin?.trustProxy === true, opts.socketAddress),
        signInThrottle: opts.signInThrottle,
      }),
    onError: opts.onError,
  });
}
