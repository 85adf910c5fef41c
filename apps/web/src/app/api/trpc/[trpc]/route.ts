import { appRouter, createTRPCContext } from "@malleo/api";
import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { logLine } from "../../../../server/log";
import { getDb, getEventHub } from "../../../../server/services";

export const dynamic = "force-dynamic";
export const runtime = "nodejs";

function handler(req: Request): Promise<Response> {
  const secure = new URL(req.url).protocol === "https:" || req.headers.get("x-forwarded-proto") === "https";
  return fetchRequestHandler({
    endpoint: "/api/trpc",
    req,
    router: appRouter,
    createContext: ({ resHeaders }) =>
      createTRPCContext({ db: getDb(), events: getEventHub(), headers: req.headers, resHeaders, secureCookies: secure }),
    onError({ error, path, type }) {
      if (error.code === "INTERNAL_SERVER_ERROR") {
        logLine("error", "procedure failed", {
          path,
          type,
          error: error.message,
          cause: error.cause?.message,
          stack: error.cause?.stack,
        });
      }
    },
  });
}

export { handler as GET, handler as POST };
