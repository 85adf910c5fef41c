"use client";

import { useInfiniteQuery } from "@tanstack/react-query";
import Link from "next/link";
import { describeError } from "../lib/errors";
import { elapsed, formatAgo, formatDuration, formatTime } from "../lib/format";
import { operationTitle } from "../lib/operation";
import { useTRPC } from "../trpc/react";
import { useLive } from "./live-events";
import { StatusBadge } from "./status-badge";
import { useNow } from "./use-now";

const PAGE_SIZE = 25;

export function HistoryView() {
  const trpc = useTRPC();
  const live = useLive();
  const now = useNow(5000);
  const history = useInfiniteQuery({
    ...trpc.operations.list.infiniteQueryOptions({ limit: PAGE_SIZE }, { getNextPageParam: (page) => page.nextCursor }),
    refetchInterval: live ? false : 5000,
  });

  if (history.isPending) return <p className="placeholder">Loading history…</p>;
  if (history.isError) return <p className="callout callout--bad">Cannot load the history. {describeError(history.error)}</p>;

  const operations = history.data.pages.flatMap((p) => p.items);
  return (
    <>
      <div className="page-head">
        <div>
          <h1>History</h1>
          <p className="muted">Every split and merge, newest first.</p>
        </div>
      </div>
      {operations.length === 0 ? (
        <p className="placeholder">No operations yet. Split or merge a VM from the Topology page.</p>
      ) : (
        <div className="panel panel--flush">
          <table className="table" data-testid="history-table">
            <thead>
              <tr>
                <th>Kind</th>
                <th>What</th>
                <th>Submitted</th>
                <th>Operator</th>
                <th>Outcome</th>
                <th className="num">Duration</th>
              </tr>
            </thead>
            <tbody>
              {operations.map((op) => {
                const took = elapsed(op.startedAt ?? op.createdAt, op.finishedAt, now);
                return (
                  <tr key={op.id} data-testid="history-row" data-kind={op.kind} data-status={op.status} data-id={op.id}>
                    <td>
                      <Link href={`/operations/${op.id}`} className="op-kind">
                        {op.kind === "split" ? "Split" : "Merge"}
                      </Link>
                    </td>
                    <td>
                      <Link href={`/operations/${op.id}`} className="mono">
                        {operationTitle(op.plan)}
                      </Link>
                      {op.error && <div className="table__error">{op.error}</div>}
                    </td>
                    <td title={op.createdAt.toISOString()}>
                      {formatTime(op.createdAt, now)} <span className="muted">· {formatAgo(op.createdAt, now)}</span>
                    </td>
                    <td>{op.operator}</td>
                    <td>
                      <StatusBadge status={op.status} />
                    </td>
                    <td className="num">{took === null ? "—" : formatDuration(took)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {history.hasNextPage && (
        <div className="load-more">
          <button
            type="button"
            className="button"
            data-testid="history-load-more"
            onClick={() => void history.fetchNextPage()}
            disabled={history.isFetchingNextPage}
          >
            {history.isFetchingNextPage ? "Loading…" : "Load more"}
          </button>
        </div>
      )}
    </>
  );
}
