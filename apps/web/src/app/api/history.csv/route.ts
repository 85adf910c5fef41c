import { operationSearchInput } from "@malleo/api";
import { operationSearch } from "@malleo/db";
import { historyFilterFromParams } from "../../../lib/csv";
import { csvExport } from "../../../server/csv-export";

export const dynamic = "force-dynamic";
export const runtime = "nodejs";

/** History as CSV with the same filters as the page (all pages), for the session cookie or an API token. */
export function GET(req: Request): Promise<Response> {
  return csvExport(req, {
    name: "history",
    filename: "malleo-history",
    fromParams: historyFilterFromParams,
    schema: operationSearchInput,
    header: [
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
    ],
    page: async (db, { page: _page, pageSize: _size, ...filter }, offset, limit) =>
      (await operationSearch(db, filter, { offset, limit })).items,
    row: (op) => {
      const plan = op.plan as {
        sources?: { name: string; hostId: string }[];
        targets?: { name: string; hostId: string }[];
      } | null;
      const sources = plan?.sources ?? [];
      const targets = plan?.targets ?? [];
      const hosts = [...new Set([...sources, ...targets].map((v) => v.hostId))];
      const start = op.startedAt ?? op.createdAt;
      return [
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
      ];
    },
  });
}
