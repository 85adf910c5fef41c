import { auditAppend, type Db } from "@malleo/db";
import { logLine, logRecord } from "@malleo/core";
import type { AuthUser } from "./auth/authenticate";
import { sanitizeForRecord, sanitizeText } from "./input-guard";

/** The input as recorded: secrets redacted, bounded, and safe for any reader to serialise. */
export const redactInput = sanitizeForRecord;

function operationIdOf(path: string, rawInput: unknown, data: unknown): string | undefined {
  const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
  if (!path.startsWith("operations.") && !path.startsWith("applications.")) return undefined;
  const fromData = (data as { id?: unknown } | undefined)?.id;
  if (typeof fromData === "string" && uuid.test(fromData)) return fromData;
  const fromInput = (rawInput as { id?: unknown } | undefined)?.id;
  return typeof fromInput === "string" && uuid.test(fromInput) ? fromInput : undefined;
}

const str = (v: unknown): string | undefined => (typeof v === "string" && v ? sanitizeText(v, 64) : undefined);

/**
 * What a users.* or hosts.* mutation acted on, in words, from its answer (or, when refused, what
 * it asked for): "vera (viewer)", "token nightly acting as otto", "host pm-4". Operations are
 * named by their id instead.
 */
export function auditTarget(path: string, rawInput: unknown, data: unknown): string | undefined {
  const input = (rawInput ?? {}) as Record<string, unknown>;
  const out = (data ?? {}) as Record<string, unknown>;
  if (path === "users.createToken") {
    const token = (out.token ?? {}) as { name?: unknown; user?: { name?: unknown } };
    const name = str(token.name) ?? str(input.name);
    const user = str(token.user?.name) ?? str(input.userId);
    return name ? `token ${name}${user ? ` acting as ${user}` : ""}` : undefined;
  }
  if (path === "users.revokeToken") {
    const name = str(out.name);
    return name ? `token ${name}` : str(input.id) && `token ${str(input.id)}`;
  }
  if (path.startsWith("users.")) {
    const name = str(out.name) ?? str(input.name) ?? str(input.id);
    const role = str(out.role) ?? str(input.role);
    return name && (role ? `${name} (${role})` : name);
  }
  if (path === "hosts.test") {
    const uri = str(input.uri);
    return uri && `URI ${uri}`;
  }
  if (path.startsWith("hosts.")) {
    const name = str(input.name) ?? str(input.id) ?? str(out.id);
    return name && `host ${name}`;
  }
  return undefined;
}

/** Appends one audit row for a mutation. Failing to record never hides the mutation's own outcome. */
export async function auditMutation(
  db: Db,
  e: {
    user: AuthUser | null;
    path: string;
    rawInput: unknown;
    result: { ok: true; data: unknown } | { ok: false; error: Error };
  },
): Promise<void> {
  try {
    const claimed = (e.rawInput as { name?: unknown } | undefined)?.name;
    const actor =
      e.user?.name ?? (e.path === "auth.signIn" && typeof claimed === "string" ? sanitizeText(claimed, 64) : "anonymous");
    await auditAppend(db, {
      actor,
      procedure: sanitizeText(e.path, 64),
      input: sanitizeForRecord(e.rawInput) as never,
      ok: e.result.ok,
      error: e.result.ok ? undefined : sanitizeText(e.result.error.message),
      operationId: operationIdOf(e.path, e.rawInput, e.result.ok ? e.result.data : undefined),
      via: e.user?.via,
      target: auditTarget(e.path, e.rawInput, e.result.ok ? e.result.data : undefined),
    });
  } catch (err) {
    console.error(logLine(logRecord("api", "error", "audit row not recorded", { path: e.path, error: (err as Error).message })));
  }
}
