// Tests only: calls the API over HTTP the way the browser and the CLI do — through
// handleApiRequest (body limit, input guard, origin check, throttling), then tRPC's fetch adapter
// and superjson. One caller for every API test instead of one per file.
import type { Db } from "@malleo/db";
import superjson from "superjson";
import { createEventHub } from "../event-hub";
import { handleApiRequest, type ApiRequestOptions } from "../http";

export interface CallResult {
  status: number;
  data: Record<string, unknown>;
  error: { message: string; data?: { code?: string; appCode?: string | null; httpStatus?: number } } | undefined;
  /** The error's message, or undefined on success. */
  message: string | undefined;
  /** The error's application code (`appCode`), if any. */
  appCode: string | null | undefined;
  setCookie: string | null;
  /** The session cookie the answer set (`malleo_session=…`), or "". */
  cookie: string;
  headers: Headers;
  /** The answer's body as sent (a non-JSON answer leaves `data` and `error` undefined). */
  text: string;
}

export interface CallOptions {
  cookie?: string;
  bearer?: string;
  /** A GET with the input in the query string (queries), instead of a POST. */
  query?: boolean;
  /** The body (or query input) as given, instead of the superjson of `input`. */
  rawBody?: string;
  /** More request headers (host, origin, sec-fetch-site, x-forwarded-for …); null removes one (`"content-type": null`). */
  headers?: Record<string, string | null>;
  /** The URL before `/api/trpc/` (default http://localhost). */
  base?: string;
  /** handleApiRequest's options beyond the database (origin policy, sign-in throttle). */
  handler?: Omit<ApiRequestOptions, "db" | "events">;
}

export function httpCaller(db: () => Db) {
  async function call(path: string, input: unknown, opts: CallOptions = {}): Promise<CallResult> {
    const headers = new Headers({ "content-type": "application/json" });
    for (const [name, value] of Object.entries(opts.headers ?? {}))
      if (value === null) headers.delete(name);
      else headers.set(name, value);
    if (opts.cookie) headers.set("cookie", opts.cookie);
    if (opts.bearer) headers.set("authorization", `Bearer ${opts.bearer}`);
    const body = opts.rawBody ?? JSON.stringify(superjson.serialize(input));
    const url = `${opts.base ?? "http://localhost"}/api/trpc/${path}${opts.query ? `?input=${encodeURIComponent(body)}` : ""}`;
    const req = new Request(url, { method: opts.query ? "GET" : "POST", headers, ...(opts.query ? {} : { body }) });
    const res = await handleApiRequest(req, { db: db(), events: createEventHub("postgres://unused"), ...opts.handler });
    const text = await res.text();
    let json: { result?: { data: unknown }; error?: { json?: CallResult["error"] } } = {};
    try {
      json = JSON.parse(text) as typeof json;
    } catch {
      // not JSON (a refusal before tRPC): `text` holds it
    }
    const setCookie = res.headers.get("set-cookie");
    return {
      status: res.status,
      data: (json.result ? superjson.deserialize(json.result.data as never) : undefined) as Record<string, unknown>,
      error: json.error?.json,
      message: json.error?.json?.message,
      appCode: json.error?.json?.data?.appCode,
      setCookie,
      cookie: setCookie?.split(";")[0] ?? "",
      headers: res.headers,
      text,
    };
  }

  /** Signs in over HTTP and returns the session cookie (`malleo_session=…`). */
  async function signIn(name: string, password: string): Promise<string> {
    const r = await call("auth.signIn", { name, password });
    if (r.status !== 200 || !r.setCookie) throw new Error(`sign-in as ${name} failed: ${r.status} ${r.message}`);
    return r.cookie;
  }

  return { call, signIn };
}
