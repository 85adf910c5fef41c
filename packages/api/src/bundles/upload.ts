/**
 * `POST /api/applications/bundles`: an admin uploads a bundle file as the raw request body
 * (application/javascript or application/octet-stream). The same checks as a tRPC mutation —
 * origin, authentication, role, an audit row allowed or refused — with its own body limit
 * (MAX_BUNDLE_BYTES); tRPC's 64 KiB stays for everything else.
 */
import { AppError } from "@malleo/core";
import type { Db } from "@malleo/db";
import { auditMutation } from "../audit";
import { authenticate, type AuthUser } from "../auth/authenticate";
import { roleAllows } from "../auth/roles";
import { readBoundedBytes } from "../http";
import { checkMutationRequest, type OriginPolicy } from "../request-origin";
import { MAX_BUNDLE_BYTES, registerBundle, type RegisteredBundle } from "./register-bundle";

export const BUNDLE_CONTENT_TYPES = ["application/javascript", "text/javascript", "application/octet-stream"] as const;

const PROCEDURE = "applications.registerBundle";

export interface BundleUploadOptions {
  db: Db;
  origin?: OriginPolicy;
  /** The check's limits (tests). */
  limits?: Parameters<typeof registerBundle>[3];
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

export type BundleUploadAnswer =
  | { bundle: Omit<RegisteredBundle, "registeredAt"> & { registeredAt: string } }
  | { error: { code: string; message: string; problems: string[] } };

export async function handleBundleUpload(req: Request, opts: BundleUploadOptions): Promise<Response> {
  let user: AuthUser | null = null;
  const fail = async (status: number, code: string, message: string, problems: string[] = [message], input: unknown = {}) => {
    await auditMutation(opts.db, { user, path: PROCEDURE, rawInput: input, result: { ok: false, error: new Error(message) } });
    return json(status, { error: { code, message, problems } } satisfies BundleUploadAnswer);
  };
  if (req.method !== "POST")
    return json(405, { error: { code: "METHOD_NOT_ALLOWED", message: "POST the bundle file", problems: [] } });
  const refused = checkMutationRequest(req, opts.origin, BUNDLE_CONTENT_TYPES);
  if (refused) return fail(refused.status, refused.code, refused.message);
  user = await authenticate(opts.db, req.headers);
  if (!user) return fail(401, "UNAUTHORIZED", "sign in (or send an API token) to register a bundle");
  if (!roleAllows(user.role, "admin"))
    return fail(
      403,
      "FORBIDDEN",
      `registering a bundle needs the admin role; ${user.name} is ${user.role === "operator" ? "an" : "a"} ${user.role}`,
    );
  const bytes = await readBoundedBytes(req, MAX_BUNDLE_BYTES);
  if (bytes === null)
    return fail(
      413,
      "PAYLOAD_TOO_LARGE",
      `the bundle is larger than ${MAX_BUNDLE_BYTES} bytes (${MAX_BUNDLE_BYTES / 1024 / 1024} MiB), the most a bundle may be`,
    );
  const input = { size: bytes.byteLength };
  try {
    const bundle = await registerBundle(opts.db, bytes, user.name, opts.limits);
    const answer = { bundle: { ...bundle, registeredAt: bundle.registeredAt.toISOString() } };
    await auditMutation(opts.db, {
      user,
      path: PROCEDURE,
      rawInput: { ...input, kind: bundle.kind, version: bundle.version, sha256: bundle.sha256 },
      result: { ok: true, data: answer.bundle },
    });
    return json(bundle.created ? 201 : 200, answer satisfies BundleUploadAnswer);
  } catch (error) {
    if (AppError.is(error)) {
      const problems = Array.isArray(error.details.problems) ? (error.details.problems as string[]) : [error.message];
      return fail(400, error.code, error.message, problems, input);
    }
    throw error;
  }
}
