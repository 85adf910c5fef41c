"use client";

import { OPERATION_STATUSES } from "@malleo/core";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { usePathname, useRouter, useSearchParams } from "next/navigation";
import { useEffect, useRef, useState } from "react";
import { CollapsibleFilters } from "./collapsible-filters";
import { auditAction, auditFilterQuery, auditVia, readableError, type AuditFilter } from "../lib/audit";
import { historyFilterFromParams } from "../lib/csv";
import { describeError } from "../lib/errors";
import { elapsed, formatAgo, formatDuration, formatInstant, formatTime, statusLabel, zoneLabel } from "../lib/format";
import { operationTitle } from "../lib/operation";
import { useTRPC } from "../trpc/react";
import type { RouterInputs } from "@malleo/api";
import { useLive } from "./live-events";
import { StatusBadge } from "./status-badge";
import { useNow } from "./use-now";
import { WindowedRows } from "./windowed-rows";

/** Rows per page the operator can pick (the `size` URL parameter); 25 unless asked. */
const PAGE_SIZES = [25, 100, 500] as const;
type SearchInput = RouterInputs["operations"]["search"];

/** History: every split and merge, filterable, paginated, exportable; the filters live in the URL so a view can be shared. */
export function HistoryView() {
  const trpc = useTRPC();
  const live = useLive();
  const now = useNow(5000);
  const params = useSearchParams();
  const router = useRouter();
  const pathname = usePathname();
  const filter = historyFilterFromParams(new URLSearchParams(params.toString())) as SearchInput;
  const pageSize = PAGE_SIZES.find((n) => String(n) === params.get("size")) ?? PAGE_SIZES[0];
  const input: SearchInput = { ...filter, pageSize };
  const history = useQuery({
    ...trpc.operations.search.queryOptions(input),
    placeholderData: keepPreviousData,
    refetchInterval: live ? false : 5000,
  });
  const topology = useQuery(trpc.topology.get.queryOptions());
  const operators = useQuery(trpc.operations.operators.queryOptions());

  // The URL is the filter state. Changes build on the latest URL this page asked for, not on
  // the one it last rendered: two quick changes (clear, then pick a kind) must not undo each other.
  const latestQuery = useRef(params.toString());
  useEffect(() => {
    latestQuery.current = params.toString();
  }, [params]);
  const setParam = (changes: Record<string, string | string[] | null>) => {
    const next = new URLSearchParams(latestQuery.current);
    for (const [k, v] of Object.entries(changes)) {
      next.delete(k);
      for (const item of Array.isArray(v) ? v : v ? [v] : []) next.append(k, item);
    }
    if (!("page" in changes)) next.delete("page");
    latestQuery.current = next.toString();
    router.replace(`${pathname}${next.size ? `?${next.toString()}` : ""}`);
  };

  const page = history.data?.page ?? 1;
  const pages = history.data ? Math.max(1, Math.ceil(history.data.total / pageSize)) : 1;
  const csvHref = `/api/history.csv${params.size ? `?${params.toString()}` : ""}`;

  return (
    <>
      <div className="page-head">
        <div>
          <h1>History</h1>
          <p className="muted">Every split and merge, who asked for it and how it ended, newest first.</p>
        </div>
        <a className="button" href={csvHref} data-testid="history-csv" download>
          Export CSV
        </a>
      </div>

      <CollapsibleFilters
        className="filters panel"
        testId="history-filters"
        active={new Set([...params.keys()].filter((k) => k !== "page" && k !== "size")).size}
      >
        <label className="field field--inline">
          <span className="field__label">VM</span>
          <DebouncedInput
            testId="filter-vm"
            value={params.get("vm") ?? ""}
            placeholder="name contains…"
            onChange={(v) => setParam({ vm: v || null })}
          />
        </label>
        <label className="field field--inline">
          <span className="field__label">Host</span>
          <select
            data-testid="filter-host"
            value={params.get("hostId") ?? ""}
            onChange={(e) => setParam({ hostId: e.target.value || null })}
          >
            <option value="">any</option>
            {topology.data?.hosts.map((h) => (
              <option key={h.id} value={h.id}>
                {h.id}
              </option>
            ))}
          </select>
        </label>
        <label className="field field--inline">
          <span className="field__label">Operator</span>
          <select
            data-testid="filter-operator"
            value={params.get("operator") ?? ""}
            onChange={(e) => setParam({ operator: e.target.value || null })}
          >
            <option value="">anyone</option>
            {operators.data?.map((o) => (
              <option key={o} value={o}>
                {o}
              </option>
            ))}
          </select>
        </label>
        <label className="field field--inline">
          <span className="field__label">Kind</span>
          <select
            data-testid="filter-kind"
            value={params.get("kind") ?? ""}
            onChange={(e) => setParam({ kind: e.target.value || null })}
          >
            <option value="">any</option>
            <option value="split">split</option>
            <option value="merge">merge</option>
          </select>
        </label>
        <label className="field field--inline">
          <span className="field__label">Status</span>
          <select
            data-testid="filter-status"
            value={params.get("status") ?? ""}
            onChange={(e) => setParam({ status: e.target.value || null })}
          >
            <option value="">any</option>
            {OPERATION_STATUSES.map((s) => (
              <option key={s} value={s}>
                {statusLabel(s)}
              </option>
            ))}
          </select>
        </label>
        <label className="field field--inline">
          <span className="field__label">From</span>
          <input
            type="datetime-local"
            data-testid="filter-from"
            value={toLocalInput(params.get("from"))}
            onChange={(e) => setParam({ from: fromLocalInput(e.target.value) })}
          />
        </label>
        <label className="field field--inline">
          <span className="field__label">To</span>
          <input
            type="datetime-local"
            data-testid="filter-to"
            value={toLocalInput(params.get("to"))}
            onChange={(e) => setParam({ to: fromLocalInput(e.target.value) })}
          />
        </label>
        {params.size > 0 && (
          <button
            type="button"
            className="button button--ghost button--small"
            data-testid="filter-clear"
            onClick={() => {
              latestQuery.current = "";
              router.replace(pathname);
            }}
          >
            Clear filters
          </button>
        )}
      </CollapsibleFilters>

      {history.isPending ? (
        <p className="placeholder">Loading history…</p>
      ) : history.isError ? (
        <p className="callout callout--bad" role="alert" data-testid="history-error">
          {describeError(history.error)}
        </p>
      ) : history.data.items.length === 0 ? (
        <p className="placeholder" data-testid="history-empty">
          {params.size > 0
            ? "No operation matches these filters."
            : "No operations yet. Split or merge a VM from the Topology page."}
        </p>
      ) : (
        <div className="panel panel--flush">
          <table className="table table--stack" data-testid="history-table" data-total={history.data.total}>
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
            <WindowedRows items={history.data.items} columns={6}>
              {(op, measure, index) => {
                const took = elapsed(op.startedAt ?? op.createdAt, op.finishedAt, now);
                return (
                  <tr
                    key={op.id}
                    ref={measure}
                    data-index={index}
                    data-testid="history-row"
                    data-kind={op.kind}
                    data-status={op.status}
                    data-id={op.id}
                    data-operator={op.operator}
                  >
                    <td data-label="Kind">
                      <Link href={`/operations/${op.id}`} className="op-kind">
                        {op.kind === "split" ? "Split" : "Merge"}
                      </Link>
                    </td>
                    <td data-label="What">
                      <Link href={`/operations/${op.id}`} className="mono">
                        {operationTitle(op.plan)}
                      </Link>
                      {op.error && <div className="table__error">{op.error}</div>}
                    </td>
                    <td data-label="Submitted" title={op.createdAt.toISOString()}>
                      {formatTime(op.createdAt, now)} <span className="muted">· {formatAgo(op.createdAt, now)}</span>
                    </td>
                    <td data-label="Operator" data-testid="history-operator">
                      {op.operator}
                      {op.cancelledBy && <div className="muted">cancelled by {op.cancelledBy}</div>}
                    </td>
                    <td data-label="Outcome">
                      <StatusBadge status={op.status} />
                    </td>
                    <td className="num" data-label="Duration">
                      {took === null ? "—" : formatDuration(took)}
                      {op.pauseMs !== null && (
                        <div className="muted" data-testid="history-pause" title="The application's pause during the move">
                          {op.transferMode ?? "barrier"} · pause {Math.round(op.pauseMs)} ms
                        </div>
                      )}
                    </td>
                  </tr>
                );
              }}
            </WindowedRows>
          </table>
        </div>
      )}

      {history.data && history.data.total > 0 && (
        <nav className="pager" aria-label="Pages" data-testid="history-pager">
          <button
            type="button"
            className="button button--small"
            data-testid="history-prev"
            disabled={page <= 1}
            onClick={() => setParam({ page: page - 1 > 1 ? String(page - 1) : null })}
          >
            ← Newer
          </button>
          <span className="muted" data-testid="history-page">
            page {page} of {pages} · {history.data.total} operations
          </span>
          <label className="muted">
            <select
              data-testid="history-size"
              value={pageSize}
              onChange={(e) => setParam({ size: e.target.value === String(PAGE_SIZES[0]) ? null : e.target.value })}
            >
              {PAGE_SIZES.map((n) => (
                <option key={n} value={n}>
                  {n}
                </option>
              ))}
            </select>{" "}
            a page
          </label>
          <button
            type="button"
            className="button button--small"
            data-testid="history-next"
            disabled={page >= pages}
            onClick={() => setParam({ page: String(page + 1) })}
          >
            Older →
          </button>
        </nav>
      )}

      <AuditLog />
    </>
  );
}

/** Every API mutation, allowed or refused, with who did it, filterable, exportable as CSV. */
function AuditLog() {
  const trpc = useTRPC();
  const now = useNow(5000);
  const [page, setPage] = useState(1);
  const [filter, setFilterState] = useState<AuditFilter>({});
  const setFilter = (f: AuditFilter) => {
    setFilterState(f);
    setPage(1);
  };
  const audit = useQuery({
    ...trpc.audit.list.queryOptions({ ...filter, page, pageSize: 20 }),
    placeholderData: keepPreviousData,
  });
  const facets = useQuery(trpc.audit.facets.queryOptions());
  // Its own failure stays here: the operations table above keeps working. A page that failed
  // never shows the previous page's rows as if they were its own.
  const [knownTotal, setKnownTotal] = useState(0);
  useEffect(() => {
    if (audit.data && !audit.isPlaceholderData) setKnownTotal(audit.data.total);
  }, [audit.data, audit.isPlaceholderData]);
  const pages = Math.max(1, Math.ceil((audit.data?.total ?? knownTotal) / 20), page);
  const query = auditFilterQuery(filter);
  const zone = zoneLabel();
  const pager = pages > 1 && (
    <nav className="pager" aria-label="Audit pages">
      <button type="button" className="button button--small" disabled={page <= 1} onClick={() => setPage(page - 1)}>
        ← Newer
      </button>
      <span className="muted">
        page {page} of {pages}
      </span>
      <button type="button" className="button button--small" disabled={page >= pages} onClick={() => setPage(page + 1)}>
        Older →
      </button>
    </nav>
  );
  const head = (
    <>
      <div className="audit__head">
        <h2 className="panel__title audit__title">Audit log — every change requested through the API</h2>
        <a
          className="button button--small"
          href={`/api/audit.csv${query ? `?${query}` : ""}`}
          data-testid="audit-csv"
          download
          title="The rows these filters select, every page; times in UTC"
        >
          Export CSV (UTC)
        </a>
      </div>
      <CollapsibleFilters
        className="filters audit__filters"
        testId="audit-filters"
        active={Object.values(filter).filter((v) => v !== undefined && v !== "").length}
      >
        <label className="field field--inline">
          <span className="field__label">Who</span>
          <select
            data-testid="audit-filter-actor"
            value={filter.actor ?? ""}
            onChange={(e) => setFilter({ ...filter, actor: e.target.value || undefined })}
          >
            <option value="">anyone</option>
            {facets.data?.actors.map((a) => (
              <option key={a} value={a}>
                {a}
              </option>
            ))}
          </select>
        </label>
        <label className="field field--inline">
          <span className="field__label">Action</span>
          <select
            data-testid="audit-filter-procedure"
            value={filter.procedure ?? ""}
            onChange={(e) => setFilter({ ...filter, procedure: e.target.value || undefined })}
          >
            <option value="">any</option>
            {facets.data?.procedures.map((p) => (
              <option key={p} value={p}>
                {p}
              </option>
            ))}
          </select>
        </label>
        <label className="field field--inline">
          <span className="field__label">Outcome</span>
          <select
            data-testid="audit-filter-ok"
            value={filter.ok === undefined ? "" : String(filter.ok)}
            onChange={(e) => setFilter({ ...filter, ok: e.target.value === "" ? undefined : e.target.value === "true" })}
          >
            <option value="">any</option>
            <option value="true">allowed</option>
            <option value="false">refused or alert</option>
          </select>
        </label>
        <label className="field field--inline">
          <span className="field__label">From ({zone})</span>
          <input
            type="datetime-local"
            data-testid="audit-filter-from"
            value={toLocalInput(filter.from ?? null)}
            onChange={(e) => setFilter({ ...filter, from: fromLocalInput(e.target.value) ?? undefined })}
          />
        </label>
        <label className="field field--inline">
          <span className="field__label">To ({zone})</span>
          <input
            type="datetime-local"
            data-testid="audit-filter-to"
            value={toLocalInput(filter.to ?? null)}
            onChange={(e) => setFilter({ ...filter, to: fromLocalInput(e.target.value) ?? undefined })}
          />
        </label>
        {query && (
          <button
            type="button"
            className="button button--ghost button--small"
            data-testid="audit-filter-clear"
            onClick={() => setFilter({})}
          >
            Clear filters
          </button>
        )}
      </CollapsibleFilters>
    </>
  );
  if (audit.isError)
    return (
      <section className="panel audit" aria-label="Audit log">
        {head}
        <p className="callout callout--bad" role="alert" data-testid="audit-error">
          The audit log could not be loaded: {describeError(audit.error)}
        </p>
        {pager}
      </section>
    );
  if (!audit.data)
    return (
      <section className="panel audit" aria-label="Audit log">
        <p className="placeholder">Loading the audit log…</p>
      </section>
    );
  return (
    <section className="panel panel--flush audit" aria-label="Audit log" aria-busy={audit.isPlaceholderData}>
      {head}
      {audit.data.items.length === 0 ? (
        <p className="placeholder placeholder--small" data-testid="audit-empty">
          No entry matches these filters.
        </p>
      ) : (
        <table
          className="table table--compact table--stack"
          data-testid="audit-table"
          data-page={audit.isPlaceholderData ? "loading" : page}
          data-total={audit.data.total}
          style={audit.isPlaceholderData ? { opacity: 0.5 } : undefined}
        >
          <thead>
            <tr>
              <th>When ({zone})</th>
              <th>Who</th>
              <th>What</th>
              <th>Outcome</th>
              <th>Operation</th>
            </tr>
          </thead>
          <tbody>
            {audit.data.items.map((a) => (
              <tr
                key={String(a.id)}
                data-testid="audit-row"
                data-actor={a.actor}
                data-procedure={a.procedure}
                data-ok={String(a.ok)}
                data-via={a.via ?? ""}
              >
                <td data-label="When" title={formatInstant(a.at)}>
                  {formatTime(a.at, now)} <span className="muted">{zone}</span>
                </td>
                <td data-label="Who">
                  {a.actor} <span className="muted">· {auditVia(a)}</span>
                </td>
                <td data-label="What" data-testid="audit-action">
                  {auditAction(a)}
                  <div className="muted mono">{a.procedure}</div>
                </td>
                <td data-label="Outcome">
                  {a.ok ? (
                    <span className="badge badge--ok">ok</span>
                  ) : (
                    <span className="badge badge--bad">
                      {/* The worker's own records (a lost theater) are alerts, not refused requests. */}
                      {a.actor === "worker" ? "alert" : "refused"}
                    </span>
                  )}{" "}
                  {!a.ok && (
                    <span className="muted" data-testid="audit-error-text">
                      {readableError(a.error)}
                    </span>
                  )}
                </td>
                <td data-label="Operation">
                  {a.operationId ? (
                    <Link href={`/operations/${a.operationId}`} className="mono">
                      {a.operationId.slice(0, 8)}
                    </Link>
                  ) : (
                    "—"
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {pager}
    </section>
  );
}

function DebouncedInput({
  value,
  onChange,
  testId,
  placeholder,
}: {
  value: string;
  onChange: (v: string) => void;
  testId: string;
  placeholder?: string;
}) {
  const [text, setText] = useState(value);
  const [timer, setTimer] = useState<ReturnType<typeof setTimeout> | undefined>(undefined);
  return (
    <input
      data-testid={testId}
      value={text}
      placeholder={placeholder}
      onChange={(e) => {
        const v = e.target.value;
        setText(v);
        clearTimeout(timer);
        setTimer(setTimeout(() => onChange(v.trim()), 300));
      }}
    />
  );
}

/** URL holds ISO-8601 instants; the input shows local time. */
function toLocalInput(iso: string | null): string {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  return new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
}

function fromLocalInput(local: string): string | null {
  if (!local) return null;
  const d = new Date(local);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}
