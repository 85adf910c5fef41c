import { auditAppend, type Db } from "@malleo/db";
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
    });
  } catch (err) {
    console.error(
      JSON.stringify({
        level: "error",
        service: "api",
        msg: "audit row not recorded",
        path: e.path,
        error: (err as Error).message,
      }),
    );
  }
}
