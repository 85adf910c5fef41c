"use client";

import { useQueries, useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { usePathname } from "next/navigation";
import { useId, useState } from "react";
import { formatAgo, shortId } from "../lib/format";
import {
  isActive,
  kindLabel,
  lockNoticeText,
  locksByOthers,
  pageScope,
  progressText,
  taskOutcome,
  taskProgress,
  taskRows,
  taskTargets,
} from "../lib/task-bar";
import { useTRPC } from "../trpc/react";
import type { OperationDetail, OperationSummary } from "../trpc/types";
import { useLive } from "./live-events";
import { useNow } from "./use-now";
import { useUser } from "./user-context";

const ACTIVE_STATUSES = ["queued", "running", "cleanup_pending", "rolling_back"] as const;
/** Ended operations listed after the ones under way. */
const RECENT = 8;
/** Operations under way shown in the bar itself on a wide screen (all of them are in the list). */
const INLINE = 3;

/**
 * The task bar on every console page (as Proxmox VE's task log): every user's operations under
 * way and the most recent ended ones, each with its kind, who started it, what it works on, its
 * progress or outcome, and a link to its page; and a notice when another user's operation holds
 * what this page shows. Kept current by the live events (the lists are refetched on each
 * operation event, and each running operation's detail is written into the cache by it); polls
 * only while the event stream is down.
 */
export function TaskBar() {
  const trpc = useTRPC();
  const live = useLive();
  const me = useUser().name;
  const pathname = usePathname();
  const now = useNow(5000);
  const [open, setOpen] = useState(false);
  const listId = useId();
  const poll = live ? false : 5000;
  const active = useQuery({
    ...trpc.operations.search.queryOptions({ statuses: [...ACTIVE_STATUSES], pageSize: 50 }),
    refetchInterval: poll,
  });
  const latest = useQuery({ ...trpc.operations.list.queryOptions({ limit: RECENT + 2 }), refetchInterval: poll });
  const rows = taskRows(active.data?.items ?? [], latest.data?.items ?? [], RECENT);
  const running = rows.filter((o) => isActive(o.status));
  // Each running operation's steps, for its progress: the same query its page uses, which the events keep current.
  const details = useQueries({
    queries: running.map((o) => ({ ...trpc.operations.get.queryOptions({ id: o.id }), refetchInterval: poll })),
  });
  const detailOf = new Map(details.flatMap((d) => (d.data ? [[d.data.id, d.data] as const] : [])));
  const notices = locksByOthers(running, pageScope(pathname), me);

  return (
    <section className="taskbar" aria-label="Tasks" data-testid="task-bar">
      <div className="taskbar__strip">
        <button
          type="button"
          className="taskbar__toggle"
          data-testid="task-bar-toggle"
          data-running={running.length}
          aria-expanded={open}
          aria-controls={open ? listId : undefined}
          onClick={() => setOpen((o) => !o)}
        >
          <span className={`taskbar__count${running.length > 0 ? " taskbar__count--busy" : ""}`} data-testid="task-bar-count">
            {running.length}
          </span>{" "}
          {running.length === 1 ? "task running" : "tasks running"}
          <span className="muted"> · {open ? "hide" : "show"} recent</span> <span aria-hidden>{open ? "▴" : "▾"}</span>
        </button>
        {running.length > 0 && (
          <ul className="taskbar__inline" aria-label="Tasks running">
            {running.slice(0, INLINE).map((op) => (
              <li key={op.id}>
                <Link href={`/operations/${op.id}`} className="taskbar__chip" data-testid={`task-chip-${op.id}`}>
                  <strong>{kindLabel(op.kind)}</strong> <span className="mono">{taskTargets(op.kind, op.plan)}</span>{" "}
                  <span className="muted">{progressOf(op, detailOf.get(op.id))}</span>
                </Link>
              </li>
            ))}
            {running.length > INLINE && <li className="muted">+{running.length - INLINE} more</li>}
          </ul>
        )}
      </div>
      {open && (
        <ol className="taskbar__list" id={listId} data-testid="task-list">
          {rows.length === 0 && <li className="placeholder placeholder--small">No operations yet</li>}
          {rows.map((op) => (
            <TaskRow key={op.id} op={op} detail={detailOf.get(op.id)} now={now} />
          ))}
          <li className="taskbar__more">
            <Link href="/history">All operations in History</Link>
          </li>
        </ol>
      )}
      {notices.map((op) => (
        <p key={op.id} className="callout callout--warn taskbar__notice" role="status" data-testid="lock-notice" data-id={op.id}>
          {lockNoticeText(op)}{" "}
          <Link href={`/operations/${op.id}`} className="mono" data-testid="lock-notice-link">
            op {shortId(op.id)}
          </Link>{" "}
          <span className="muted">
            ({taskTargets(op.kind, op.plan)}; {progressOf(op, detailOf.get(op.id))})
          </span>
        </p>
      ))}
    </section>
  );
}

function progressOf(op: OperationSummary, detail: OperationDetail | undefined): string {
  if (op.status === "queued") return "queued";
  return detail ? progressText(taskProgress(op, detail.steps)) : taskOutcome(op).label.toLowerCase();
}

function TaskRow({ op, detail, now }: { op: OperationSummary; detail: OperationDetail | undefined; now: number }) {
  // The detail, written by the live events, may be newer than the list.
  const status = detail && !isActive(detail.status) ? detail.status : op.status;
  const outcome = taskOutcome({ status, cancelledBy: detail?.cancelledBy ?? op.cancelledBy });
  const ended = !isActive(status);
  const finishedAt = detail?.finishedAt ?? op.finishedAt;
  return (
    <li className="taskbar__row" data-testid={`task-${op.id}`} data-status={status} data-outcome={outcome.label}>
      <Link href={`/operations/${op.id}`} className="taskbar__what" data-testid={`task-link-${op.id}`}>
        <strong>{kindLabel(op.kind)}</strong> <span className="mono">{taskTargets(op.kind, op.plan)}</span>
      </Link>
      <span className="taskbar__who">by {op.operator}</span>
      <span className={`badge badge--${outcome.tone}`} data-testid={`task-outcome-${op.id}`}>
        {!ended && <span className="spinner" aria-hidden />}
        {outcome.label}
      </span>
      <span className="taskbar__progress muted" data-testid={`task-progress-${op.id}`}>
        {ended ? (finishedAt ? formatAgo(finishedAt, now) : "") : progressOf(op, detail)}
      </span>
    </li>
  );
}
