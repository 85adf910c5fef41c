import { handleApiRequest, isHttps, type OriginPolicy } from "@malleo/api";
import { env } from "../../../../env";
import { logLine } from "../../../../server/log";
import { getDb, getEventHub } from "../../../../server/services";
import { socketAddressOf } from "../../../../server/socket-address";

export const dynamic = "force-dynamic";
export const runtime = "nodejs";

const origin: OriginPolicy = { allowedOrigins: env.MALLEO_ALLOWED_ORIGINS, trustProxy: env.MALLEO_TRUST_PROXY };

function handler(req: Request): Promise<Response> {
  return handleApiRequest(req, {
    db: getDb(),
    events: getEventHub(),
    origin,
    // The sign-in throttle's count per client address (behind a trusted proxy, X-Forwarded-For's instead).
    socketAddress: socketAddressOf(req),
    // Secure cookies when the request came over HTTPS (to this process or to the trusted proxy).
    secureCookies: isHttps(req, origin) || req.headers.get("x-forwarded-proto") === "https",
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
