import { auditList } from "@malleo/db";
import { z } from "zod";
import { auditAction, auditFilterFromParams, auditVia, readableError } from "../../../lib/audit";
import { csvExport } from "../../../server/csv-export";

export const dynamic = "force-dynamic";
export const runtime = "nodejs";

const filterInput = z
  .object({
    actor: z.string().trim().max(64).optional(),
    procedure: z.string().trim().max(64).optional(),
    ok: z.boolean({ error: "ok is true (allowed) or false (refused)" }).optional(),
    from: z.coerce.date({ error: "from is an ISO-8601 time" }).optional(),
    to: z.coerce.date({ error: "to is an ISO-8601 time" }).optional(),
  })
  .strict()
  .refine((f) => !f.from || !f.to || f.from <= f.to, { error: "the time range ends before it starts", path: ["to"] });

/**
 * The audit log as CSV with the page's filters (who, action, outcome, time range), every page,
 * for the session cookie or an API token. Times are UTC, and the header says so (at_utc).
 */
export function GET(req: Request): Promise<Response> {
  return csvExport(req, {
    name: "audit",
    filename: "malleo-audit",
    filenameSuffix: "-utc",
    fromParams: auditFilterFromParams,
    schema: filterInput,
    header: ["at_utc", "actor", "via", "procedure", "action", "target", "outcome", "error", "operation_id"],
    page: async (db, filter, offset, limit) => (await auditList(db, filter, { offset, limit })).items,
    row: (a) => [
      a.at,
      a.actor,
      auditVia(a),
      a.procedure,
      auditAction(a),
      a.target,
      a.ok ? "ok" : a.actor === "worker" ? "alert" : "refused",
      readableError(a.error),
      a.operationId,
    ],
  });
}
