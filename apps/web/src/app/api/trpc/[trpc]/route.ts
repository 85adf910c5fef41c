import { appRouter, createTRPCContext } from "@malleo/api";
import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { logLine } from "../../../../server/log";
import { getDb, getEventHub } from "../../../../server/services";

export const dynamic = "force-dynamic";
export const runtime = "nodejs";

function handler(req: Request): Promise<Response> {
  return fetchRequestHandler({
    endpoint: "/api/trpc",
    req,
    router: appRouter,
    createContext: () => createTRPCContext({ db: getDb(), events: getEventHub(), headers: req.headers }),
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
