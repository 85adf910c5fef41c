import { authenticate, findHostileInput } from "@malleo/api";
import { auditList } from "@malleo/db";
import { z } from "zod";
import { auditAction, auditFilterFromParams, auditVia, readableError } from "../../../lib/audit";
import { csvRow } from "../../../lib/csv";
import { logLine } from "../../../server/log";
import { getDb } from "../../../server/services";

export const dynamic = "force-dynamic";
export const runtime = "nodejs";

const PAGE = 500;
const MAX_ROWS = 100_000;

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

const text = (status: number, body: string) => new Response(`${body}\n`, { status, headers: { "content-type": "text/plain" } });

/**
 * The audit log as CSV with the page's filters (who, action, outcome, time range), every page,
 * for the session cookie or an API token. Times are UTC, and the header says so (at_utc).
 */
export async function GET(req: Request): Promise<Response> {
  const db = getDb();
  const user = await authenticate(db, req.headers);
  if (!user) return text(401, "sign in first");
  const raw = auditFilterFromParams(new URL(req.url).searchParams);
  const hostile = findHostileInput(raw);
  if (hostile) return text(400, `${hostile.path}: ${hostile.message}`);
  const parsed = filterInput.safeParse(raw);
  if (!parsed.success) return text(400, parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "));
  const filter = parsed.data;
  let first: Awaited<ReturnType<typeof auditList>>["items"];
  try {
    first = (await auditList(db, filter, { offset: 0, limit: PAGE })).items;
  } catch (e) {
    logLine("error", "audit export failed", { error: (e as Error).message });
    return text(500, "unexpected server error; the web server log has the details");
  }
  const encoder = new TextEncoder();
  const stream = new ReadableStream<Uint8Array>({
    async start(controller) {
      controller.enqueue(
        encoder.encode(csvRow(["at_utc", "actor", "via", "procedure", "action", "target", "outcome", "error", "operation_id"])),
      );
      for (let offset = 0; offset < MAX_ROWS; offset += PAGE) {
        let items = first;
        if (offset > 0) {
          try {
            items = (await auditList(db, filter, { offset, limit: PAGE })).items;
          } catch (e) {
            logLine("error", "audit export failed part-way", { offset, error: (e as Error).message });
            controller.enqueue(encoder.encode(csvRow(["error", `export stopped after ${offset} rows: unexpected server error`])));
            break;
          }
        }
        for (const a of items) {
          controller.enqueue(
            encoder.encode(
              csvRow([
                a.at,
                a.actor,
                auditVia(a),
                a.procedure,
                auditAction(a),
                a.target,
                a.ok ? "ok" : a.actor === "worker" ? "alert" : "refused",
                readableError(a.error),
                a.operationId,
              ]),
            ),
          );
        }
        if (items.length < PAGE) break;
      }
      controller.close();
    },
  });
  const stamp = new Date().toISOString().slice(0, 19).replace(/[:T]/g, "-");
  return new Response(stream, {
    headers: {
      "content-type": "text/csv; charset=utf-8",
      "content-disposition": `attachment; filename="malleo-audit-${stamp}-utc.csv"`,
      "cache-control": "no-store",
    },
  });
}
