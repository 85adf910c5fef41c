import { authenticate, findHostileInput, operationSearchInput } from "@malleo/api";
import { operationSearch } from "@malleo/db";
import { csvRow, historyFilterFromParams } from "../../../lib/csv";
import { logLine } from "../../../server/log";
import { getDb } from "../../../server/services";

export const dynamic = "force-dynamic";
export const runtime = "nodejs";

const PAGE = 500;
const MAX_ROWS = 100_000;

/** History as CSV with the same filters as the page (all pages), for the session cookie or an API token. */
export async function GET(req: Request): Promise<Response> {
  const db = getDb();
  const user = await authenticate(db, req.headers);
  if (!user) return new Response("sign in first\n", { status: 401, headers: { "content-type": "text/plain" } });
  const raw = historyFilterFromParams(new URL(req.url).searchParams);
  const hostile = findHostileInput(raw);
  if (hostile)
    return new Response(`${hostile.path}: ${hostile.message}\n`, { status: 400, headers: { "content-type": "text/plain" } });
  const parsed = operationSearchInput.safeParse(raw);
  if (!parsed.success) {
    const msg = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    return new Response(`${msg}\n`, { status: 400, headers: { "content-type": "text/plain" } });
  }
  const { page: _page, pageSize: _size, ...filter } = parsed.data;
  // The first page is read before anything is sent, so a failing query is a 500, not a cut-off file.
  let first: Awaited<ReturnType<typeof operationSearch>>["items"];
  try {
    first = (await operationSearch(db, filter, { offset: 0, limit: PAGE })).items;
  } catch (e) {
    logLine("error", "history export failed", { error: (e as Error).message });
    return new Response("unexpected server error; the web server log has the details\n", {
      status: 500,
      headers: { "content-type": "text/plain" },
    });
  }
  const encoder = new TextEncoder();
  const stream = new ReadableStream<Uint8Array>({
    async start(controller) {
      controller.enqueue(
        encoder.encode(
          csvRow([
            "id",
            "kind",
            "status",
            "operator",
            "sources",
            "targets",
            "hosts",
            "created_at",
            "started_at",
            "finished_at",
            "duration_ms",
            "cancelled_by",
            "error",
            "transfer_mode",
            "pause_ms",
            "hold_p50_ms",
            "hold_p99_ms",
            "hold_max_ms",
          ]),
        ),
      );
      for (let offset = 0; offset < MAX_ROWS; offset += PAGE) {
        let items = first;
        if (offset > 0) {
          try {
            items = (await operationSearch(db, filter, { offset, limit: PAGE })).items;
          } catch (e) {
            // Headers are sent: end with a line that says the file is incomplete rather than cutting it.
            logLine("error", "history export failed part-way", { offset, error: (e as Error).message });
            controller.enqueue(encoder.encode(csvRow(["error", `export stopped after ${offset} rows: unexpected server error`])));
            break;
          }
        }
        for (const op of items) {
          const plan = op.plan as {
            sources?: { name: string; hostId: string }[];
            targets?: { name: string; hostId: string }[];
          } | null;
          const sources = plan?.sources ?? [];
          const targets = plan?.targets ?? [];
          const hosts = [...new Set([...sources, ...targets].map((v) => v.hostId))];
          const start = op.startedAt ?? op.createdAt;
          controller.enqueue(
            encoder.encode(
              csvRow([
                op.id,
                op.kind,
                op.status,
                op.operator,
                sources.map((s) => s.name).join(" "),
                targets.map((t) => t.name).join(" "),
                hosts.join(" "),
                op.createdAt,
                op.startedAt,
                op.finishedAt,
                op.finishedAt ? op.finishedAt.getTime() - start.getTime() : "",
                op.cancelledBy,
                op.error,
                op.transferMode,
                op.pauseMs,
                op.holdP50Ms,
                op.holdP99Ms,
                op.holdMaxMs,
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
      "content-disposition": `attachment; filename="malleo-history-${stamp}.csv"`,
      "cache-control": "no-store",
    },
  });
}
