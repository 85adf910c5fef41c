// Tests only: calls the API over HTTP the way the browser and the CLI do (fetch adapter, superjson).
import type { Db } from "@malleo/db";
import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import superjson from "superjson";
import { createEventHub } from "../event-hub";
import { appRouter } from "../root";
import { createTRPCContext } from "../trpc";

export interface CallResult {
  status: number;
  data: Record<string, unknown>;
  error: { message: string; data?: { code?: string; appCode?: string | null } } | undefined;
  setCookie: string | null;
}

export function httpCaller(db: () => Db) {
  async function call(
    path: string,
    input: unknown,
    opts: { cookie?: string; bearer?: string; query?: boolean } = {},
  ): Promise<CallResult> {
    const headers = new Headers({ "content-type": "application/json" });
    if (opts.cookie) headers.set("cookie", opts.cookie);
    if (opts.bearer) headers.set("authorization", `Bearer ${opts.bearer}`);
    const body = JSON.stringify(superjson.serialize(input));
    const url = `http://localhost/api/trpc/${path}${opts.query ? `?input=${encodeURIComponent(body)}` : ""}`;
    const req = new Request(url, { method: opts.query ? "GET" : "POST", headers, ...(opts.query ? {} : { body }) });
    const res = await fetchRequestHandler({
      endpoint: "/api/trpc",
      req,
      router: appRouter,
      createContext: ({ resHeaders }) =>
        createTRPCContext({ db: db(), events: createEventHub("postgres://unused"), headers: req.headers, resHeaders }),
    });
    const json = (await res.json()) as { result?: { data: unknown }; error?: { json: CallResult["error"] } };
    const data = json.result ? superjson.deserialize(json.result.data as never) : undefined;
    return {
      status: res.status,
      data: data as Record<string, unknown>,
      error: json.error?.json,
      setCookie: res.headers.get("set-cookie"),
    };
  }

  /** Signs in over HTTP and returns the session cookie (`malleo_session=…`). */
  async function signIn(name: string, password: string): Promise<string> {
    const r = await call("auth.signIn", { name, password });
    if (r.status !== 200 || !r.setCookie) throw new Error(`sign-in as ${name} failed: ${r.status} ${r.error?.message}`);
    return r.setCookie.split(";")[0]!;
  }

  return { call, signIn };
}
