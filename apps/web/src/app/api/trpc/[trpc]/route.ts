import { handleApiRequest } from "@malleo/api";
import { logLine } from "../../../../server/log";
import { getDb, getEventHub } from "../../../../server/services";

export const dynamic = "force-dynamic";
export const runtime = "nodejs";

function handler(req: Request): Promise<Response> {
  const secure = new URL(req.url).protocol === "https:" || req.headers.get("x-forwarded-proto") === "https";
  return handleApiRequest(req, {
    db: getDb(),
    events: getEventHub(),
    secureCookies: secure,
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
