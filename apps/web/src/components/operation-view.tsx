"use client";

import { TERMINAL_STATUSES, stepsForOperation, type OperationStatus } from "@malleo/core";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useRef, useState } from "react";
import { expectedPause } from "@malleo/api/pause-estimate";
import { describeError } from "../lib/errors";
import { elapsed, formatBytes, formatDuration, formatMiB, formatTime, plural, shortId, statusLabel } from "../lib/format";
import {
  cancelBlocker,
  operationLog,
  operationTitle,
  rolledBack,
  stepDetailItems,
  stepLabel,
  stepRows,
  waitingOnReadyBarrier,
} from "../lib/operation";
import { keyKeeper, sendOnce } from "../lib/send-once";
import { useTRPC, useTRPCClient } from "../trpc/react";
import type { OperationDetail, OperationPlan } from "../trpc/types";
import { ConfirmDialog } from "./confirm-dialog";
import { FollowedLog } from "./followed-log";
import { useLive } from "./live-events";
import { StatusBadge } from "./status-badge";
import { TRANSFER_EXPLANATIONS, TRANSFER_LABELS } from "./transfer-mode";
import { useNow } from "./use-now";
import { useCanOperate } from "./user-context";

export function OperationView({ id }: { id: string }) {
  const trpc = useTRPC();
  const live = useLive();
  const query = useQuery({
    ...trpc.operations.get.queryOptions({ id }),
    refetchInterval: (q) => (live || isTerminal(q.state.data?.status) ? false : 3000),
  });
  const running = query.data ? !isTerminal(query.data.status) : false;
  // What the plan preview estimates for this plan and mode, from past operations' measurements.
  const estimates = useQuery(trpc.operations.estimates.queryOptions());
  const now = useNow(1000, running);

  if (query.isPending) return <p className="placeholder">Loading operation…</p>;
  if (query.isError) {
    return (
      <div className="callout callout--bad" role="alert">
        {describeError(query.error)} <Link href="/history">Back to History</Link>
      </div>
    );
  }
  const op = query.data;
  const took = elapsed(op.startedAt ?? op.createdAt, op.finishedAt, now);

  return (
    <>
      <nav className="breadcrumb" aria-label="Breadcrumb">
        <Link href="/history">History</Link> / <span className="mono">operation {shortId(op.id)}</span>
      </nav>
      <div className="page-head">
        <div>
          <h1>
            <span className="op-kind">{statusLabel(op.kind)}</span> {operationTitle(op.plan)}
          </h1>
          <p className="muted mono">{op.id}</p>
        </div>
        <div className="page-head__actions">
          <CancelButton op={op} />
          <StatusBadge status={op.status} testId="op-status" />
        </div>
      </div>

      <dl className="facts">
        <div>
          <dt>Operator</dt>
          <dd>{op.operator}</dd>
        </div>
        <div>
          <dt>Transfer</dt>
          <dd data-testid="op-transfer" data-mode={op.transfer} title={TRANSFER_EXPLANATIONS[op.transfer]}>
            {TRANSFER_LABELS[op.transfer]} <span className="muted">— {TRANSFER_EXPLANATIONS[op.transfer]}</span>
          </dd>
        </div>
        <div>
          <dt>Application pause</dt>
          <dd
            data-testid="op-pause"
            data-pause-ms={op.pauseMs ?? ""}
            title="The longest stretch in which the application made no progress during the move, less its normal gap between progress before the operation"
          >
            {op.pauseMs === null ? "—" : formatMs(op.pauseMs)}
            <PredictedPause op={op} estimates={estimates.data} />
          </dd>
        </div>
        <div>
          <dt>Actor hold</dt>
          <dd
            data-testid="op-hold"
            data-hold-max-ms={op.holdMaxMs ?? ""}
            title="Each actor's hold: from held at its source to running at its target"
          >
            {op.holdMaxMs === null
              ? "—"
              : `p50 ${formatMs(op.holdP50Ms ?? 0)} · p99 ${formatMs(op.holdP99Ms ?? 0)} · max ${formatMs(op.holdMaxMs)}`}
          </dd>
        </div>
        <div>
          <dt>Submitted</dt>
          <dd>{formatTime(op.createdAt, now)}</dd>
        </div>
        <div>
          <dt>Finished</dt>
          <dd>{op.finishedAt ? formatTime(op.finishedAt, now) : "—"}</dd>
        </div>
        <div>
          <dt>Duration</dt>
          <dd data-testid="op-duration">{took === null ? "—" : formatDuration(took)}</dd>
        </div>
      </dl>

      {op.cancelRequestedAt && (
        <p className="callout callout--warn" data-testid="op-cancel-requested">
          Cancel requested by <strong>{op.cancelledBy ?? "an operator"}</strong> at {formatTime(op.cancelRequestedAt, now)}
          {isTerminal(op.status) ? "." : "; the workflow rolls back at its next step boundary."}
        </p>
      )}
      {op.waitingReason && !isTerminal(op.status) && (
        <div className="callout callout--warn" data-testid="op-waiting">
          <p className="callout__text">Waiting: {op.waitingReason}</p>
          {waitingOnReadyBarrier(op) && <ReadyDecision op={op} />}
        </div>
      )}
      {op.error && (
        <div className="callout callout--bad" role="alert" data-testid="op-error">
          <strong>Why it stopped:</strong> {op.error}
          {rolledBack(op.steps).length > 0 && (
            <div data-testid="op-rolled-back">
              <strong>Rolled back:</strong>
              <ul>
                {rolledBack(op.steps).map((what) => (
                  <li key={what}>{what}</li>
                ))}
              </ul>
            </div>
          )}
        </div>
      )}

      {op.progress && (
        <TransferProgressBar
          progress={op.progress}
          transferStatus={op.steps.filter((s) => s.name === "transfer").at(-1)?.status}
        />
      )}

      <div className="columns">
        <section className="panel" aria-label="Steps">
          <h2 className="panel__title">Steps</h2>
          <Steps op={op} now={now} />
        </section>
        <section className="panel" aria-label="Plan">
          <h2 className="panel__title">Plan</h2>
          {op.plan ? <Plan plan={op.plan} /> : <p className="placeholder placeholder--small">No plan recorded.</p>}
        </section>
      </div>

      <section className="panel" aria-label="Log">
        <FollowedLog lines={operationLog(op)} now={now} fileName={`malleo-operation-${op.id}.log`} />
      </section>
    </>
  );
}

function CancelButton({ op }: { op: OperationDetail }) {
  const client = useTRPCClient();
  const canOperate = useCanOperate();
  const keys = useRef(keyKeeper()).current;
  const [confirming, setConfirming] = useState(false);
  // Sent once, now or never: no retry, and no waiting for the browser to come back online.
  const cancel = useMutation({
    mutationFn: (input: { id: string }) =>
      sendOnce(keys.guardFor(input), (guard, signal) => client.operations.cancel.mutate({ ...input, ...guard }, { signal })),
    networkMode: "always",
    retry: false,
    onSuccess: () => keys.done(),
  });
  if (!canOperate) return null;
  const blocker = cancelBlocker(op);
  if (blocker === "ended") return null;
  return (
    <span className="cancel">
      <button
        type="button"
        className="button button--danger"
        data-testid="op-cancel"
        disabled={blocker !== null || cancel.isPending || cancel.isSuccess}
        title={blocker ?? "Stop this operation and roll back what it did"}
        onClick={() => setConfirming(true)}
      >
        {cancel.isPending ? "Cancelling…" : "Cancel operation"}
      </button>
      {confirming && (
        <ConfirmDialog
          title="Cancel this operation?"
          confirmLabel="Cancel operation"
          danger
          onCancel={() => setConfirming(false)}
          onConfirm={() => {
            setConfirming(false);
            cancel.mutate({ id: op.id });
          }}
        >
          <p>What it has done so far is rolled back at its next step boundary, and the actors run on where they were.</p>
        </ConfirmDialog>
      )}
      {blocker && blocker !== "ended" && (
        <span className="muted cancel__why" data-testid="op-cancel-why">
          {blocker}
        </span>
      )}
      {cancel.isError && (
        <span className="callout callout--bad" role="alert" data-testid="op-cancel-error">
          {describeError(cancel.error)}
        </span>
      )}
    </span>
  );
}

/**
 * The answer to a ready barrier that timed out: wait longer for the actors named, or abort (roll
 * back). Shown while the operation waits; a viewer is told why it is not offered.
 */
function ReadyDecision({ op }: { op: OperationDetail }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const canOperate = useCanOperate();
  const [confirmingAbort, setConfirmingAbort] = useState(false);
  const decide = useMutation(
    trpc.operations.decideReadyTimeout.mutationOptions({
      // Until the operation's next event: the buttons stay disabled once the answer is recorded.
      onSuccess: (r) =>
        qc.setQueryData(trpc.operations.get.queryKey({ id: op.id }), (old) =>
          old ? { ...old, readyDecision: r.decision } : old,
        ),
    }),
  );
  if (!canOperate) {
    return (
      <p className="ready-decision__why" data-testid="op-ready-why">
        An operator can wait longer or abort; you are signed in as a viewer.
      </p>
    );
  }
  const decided = op.readyDecision;
  const abort = () => decide.mutate({ id: op.id, decision: "abort" });
  return (
    <div className="ready-decision">
      <button
        type="button"
        className="button button--primary"
        data-testid="op-ready-extend"
        disabled={decide.isPending || decided !== null}
        title="Ask the actors named again, for another ready timeout"
        onClick={() => decide.mutate({ id: op.id, decision: "extend" })}
      >
        Wait longer
      </button>
      <button
        type="button"
        className="button button--danger"
        data-testid="op-ready-abort"
        disabled={decide.isPending || decided !== null}
        title="Stop waiting and roll the operation back"
        onClick={() => setConfirmingAbort(true)}
      >
        Abort
      </button>
      {confirmingAbort && (
        <ConfirmDialog
          title="Abort this operation?"
          confirmLabel="Abort"
          danger
          onCancel={() => setConfirmingAbort(false)}
          onConfirm={() => {
            setConfirmingAbort(false);
            abort();
          }}
        >
          <p>What it has done so far is rolled back and the actors run on as before.</p>
        </ConfirmDialog>
      )}
      {decided && (
        <span className="muted" data-testid="op-ready-decided" data-decision={decided}>
          {decided === "extend" ? "Waiting longer: the worker asks the actors again…" : "Aborting: the worker rolls back…"}
        </span>
      )}
      {decide.isError && (
        <span className="callout callout--bad" role="alert" data-testid="op-ready-error">
          {describeError(decide.error)}
        </span>
      )}
    </div>
  );
}

function TransferProgressBar({
  progress,
  transferStatus,
}: {
  progress: NonNullable<OperationDetail["progress"]>;
  transferStatus: string | undefined;
}) {
  const pct = progress.actorsTotal > 0 ? Math.round((progress.actorsMoved / progress.actorsTotal) * 100) : 0;
  const approx = progress.estimated ? "≈ " : "";
  return (
    <section className="panel transfer" aria-label="Transfer progress">
      <div className="transfer__line">
        <h2 className="panel__title">Transfer</h2>
        <span data-testid="transfer-text">
          {progress.actorsMoved} of {plural(progress.actorsTotal, "actor")} moved
          {progress.bytesTotal !== null && progress.bytesMoved !== null && (
            <span className="muted">
              {" "}
              · {approx}
              {formatBytes(progress.bytesMoved)} of {approx}
              {formatBytes(progress.bytesTotal)}
            </span>
          )}
          {!transferStatus && <span className="muted"> · not started</span>}
        </span>
      </div>
      <div
        className="progress"
        role="progressbar"
        aria-label="Actors moved"
        aria-valuemin={0}
        aria-valuemax={progress.actorsTotal}
        aria-valuenow={progress.actorsMoved}
        data-testid="transfer-progress"
        data-moved={progress.actorsMoved}
        data-total={progress.actorsTotal}
      >
        <div className={`progress__fill progress__fill--${transferStatus ?? "pending"}`} style={{ width: `${pct}%` }} />
      </div>
    </section>
  );
}

function isTerminal(status: string | undefined): boolean {
  return status !== undefined && TERMINAL_STATUSES.includes(status as OperationStatus);
}

function Steps({ op, now }: { op: OperationDetail; now: number }) {
  const rows = stepRows(stepsForOperation(op.kind, op.transfer), op.steps, isTerminal(op.status));
  return (
    <ol className="steps">
      {rows.map((row) => {
        const label = stepLabel(row.name);
        const step = row.latest;
        const took = step ? elapsed(step.startedAt, step.finishedAt, now) : null;
        return (
          <li key={row.name} className={`step step--${row.status}`} data-testid={`step-${row.name}`} data-status={row.status}>
            <span className="step__marker" aria-hidden />
            <div className="step__main">
              <div className="step__line">
                <span className="step__label">{label}</span>
                <StatusBadge status={row.status} />
                {row.attempts > 1 && <span className="tag">{plural(row.attempts, "attempt")}</span>}
                <span className="step__time">{took === null ? "" : formatDuration(took)}</span>
              </div>
              {step?.error && <p className="step__error">{step.error}</p>}
              {step && <StepDetail detail={step.detail} name={row.name} />}
            </div>
          </li>
        );
      })}
    </ol>
  );
}

function StepDetail({ detail, name }: { detail: unknown; name: string }) {
  const items = stepDetailItems(detail);
  if (items.length === 0) return null;
  return (
    <dl className="step__detail" data-testid={`step-detail-${name}`}>
      {items.map((item) => (
        <div key={item.label} className="kv">
          <dt className="muted">{item.label}</dt>{" "}
          <dd>
            {"names" in item ? (
              <span className="step__names">
                {item.names.map((n) => (
                  <span key={n} className="chip mono">
                    {n}
                  </span>
                ))}
              </span>
            ) : (
              item.text
            )}
          </dd>
        </div>
      ))}
    </dl>
  );
}

function Plan({ plan }: { plan: OperationPlan }) {
  return (
    <>
      <h3 className="panel__subtitle">{plan.sources.length === 1 ? "Source" : "Sources"}</h3>
      <ul className="plain-list">
        {plan.sources.map((s) => (
          <li key={s.id} data-testid="plan-source" data-name={s.name}>
            <span className="mono">{s.name}</span> <span className="muted">on {s.hostId}</span>
          </li>
        ))}
      </ul>
      <h3 className="panel__subtitle">{plan.targets.length === 1 ? "Target" : "Targets"}</h3>
      <table className="table table--compact table--stack">
        <thead>
          <tr>
            <th>VM</th>
            <th>Host</th>
            <th className="num">vCPU</th>
            <th className="num">Memory</th>
            <th className="num">Actors</th>
          </tr>
        </thead>
        <tbody>
          {plan.targets.map((t) => (
            <tr key={t.name} data-testid="plan-target" data-name={t.name} data-host={t.hostId}>
              <td className="mono" data-label="VM">
                {t.name}
              </td>
              <td data-label="Host">{t.hostId}</td>
              <td className="num" data-label="vCPU">
                {t.vcpus}
              </td>
              <td className="num" data-label="Memory">
                {formatMiB(t.memoryMiB)}
              </td>
              <td className="num" data-label="Actors">
                {t.actors.length}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

/** A pause or hold time: "12 ms", "1.4 s". */
function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** The preview's estimate beside the measured pause: one actor's move (live) or the whole transfer (barrier). */
function PredictedPause({ op, estimates }: { op: OperationDetail; estimates: Parameters<typeof expectedPause>[0] }) {
  const actors = op.plan?.targets.reduce((n, t) => n + t.actors.length, 0) ?? 0;
  const predicted = expectedPause(estimates, actors, op.transfer);
  if (!predicted) return null;
  return (
    <span className="muted" data-testid="op-pause-predicted" data-ms={Math.round(predicted.pauseMs)}>
      {" "}
      · preview estimates ≈ {formatMs(predicted.pauseMs)} {predicted.scope === "each actor" ? "per actor" : "for all actors"}
    </span>
  );
}
