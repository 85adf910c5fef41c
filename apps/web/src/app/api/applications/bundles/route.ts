import { handleBundleUpload, type OriginPolicy } from "@malleo/api";
import { env } from "../../../../env";
import { getDb } from "../../../../server/services";

export const dynamic = "force-dynamic";
export const runtime = "nodejs";

const origin: OriginPolicy = { allowedOrigins: env.MALLEO_ALLOWED_ORIGINS, trustProxy: env.MALLEO_TRUST_PROXY };

/** An admin registers an application bundle: the file as the body (docs/applications.md, "Register"). */
export function POST(req: Request): Promise<Response> {
  return handleBundleUpload(req, { db: getDb(), origin });
}
