"use client";

import { TERMINAL_STATUSES, type ApplicationAction, type OperationStatus } from "@malleo/core";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useEffect, useRef, useState } from "react";
import { ACTION_LABELS, applicationActionBlocker } from "../lib/application";
import { describeError } from "../lib/errors";
import { formatBytes, formatInstant, formatMiB, formatTime, plural, shortId, statusLabel } from "../lib/format";
import { keyKeeper, sendOnce } from "../lib/send-once";
import { vmActionItems, type VmActionItem } from "../lib/vm-actions";
import { useTRPC, useTRPCClient } from "../trpc/react";
import { upgradeBlocker, upgradeVersions, type BundleStateFormat } from "../lib/upgrade";
import type {
  ApplicationCheckpoint,
  ApplicationRecovery,
  ApplicationSummary,
  TopologyApplication,
  TopologyVm,
} from "../trpc/types";
import { ApplicationCommunication } from "./application-communication";
import { ConfirmDialog } from "./confirm-dialog";
import { useIterationRate, useLive } from "./live-events";
import { MergeDialog } from "./merge-dialog";
import { SplitDialog } from "./split-dialog";
import { StatusBadge } from "./status-badge";
import { UpgradeDialog } from "./upgrade-dialog";
import { useNow } from "./use-now";
import { useCanOperate } from "./user-context";
import { VmActionsMenu } from "./vm-actions-menu";

const isTerminal = (status: string) => TERMINAL_STATUSES.includes(status as OperationStatus);

/**
 * One application's own page: what it is and how far it got, its VMs (each with its actions
 * menu: split, merge, its page), its lifecycle actions (stop, start, delete, upgrade), its
 * checkpoints and recovery, and its recent operations.
 */
export function ApplicationView({ id }: { id: string }) {
  const trpc = useTRPC();
  const live = useLive();
  const poll = live ? false : 5000;
  const topology = useQuery({ ...trpc.topology.get.queryOptions(), refetchInterval: poll });
  const list = useQuery({ ...trpc.applications.list.queryOptions(), refetchInterval: poll });
  const now = useNow(1000);
  const canOperate = useCanOperate();
  // What a VM row's actions menu opens: the same dialogs as the topology's and the VM page's.
  const [splitVmId, setSplitVmId] = useState<string | null>(null);
  const [mergeWith, setMergeWith] = useState<string | null>(null);

  if (topology.isPending || list.isPending) return <p className="placeholder">Loading application…</p>;
  if (topology.isError || list.isError)
    return <p className="callout callout--bad">Cannot load the application. {describeError(topology.error ?? list.error)}</p>;

  const app = topology.data.applications.find((a) => a.id === id);
  const summary = list.data.find((a) => a.id === id);
  if (!app || !summary) {
    return (
      <div className="callout callout--bad" role="alert" data-testid="app-not-found">
        Application {id} does not exist. <Link href="/applications">Back to Applications</Link>
      </div>
    );
  }
  const hosts = topology.data.hosts;
  const vms = hosts.flatMap((h) => h.vms).filter((v) => v.applicationId === id);
  const actors = vms.reduce((n, v) => n + v.actorCount, 0);
  const splitVm = vms.find((v) => v.id === splitVmId);

  return (
    <>
      <nav className="breadcrumb" aria-label="Breadcrumb">
        <Link href="/applications">Applications</Link> / <span className="mono">{id}</span>
      </nav>
      <div className="page-head">
        <div>
          <h1 data-testid="app-page-title">{id}</h1>
          <p className="muted">
            {summary.kind} {summary.version ?? "(kind no longer installed)"} · {plural(actors, "actor")} on{" "}
            {plural(vms.length, "VM")}
          </p>
        </div>
        <div className="page-head__actions">
          <StatusBadge status={app.status} of="vm" testId="app-page-status" />
        </div>
      </div>

      {app.status === "degraded" && (
        <p className="callout callout--bad" role="alert" data-testid="app-page-degraded">
          <strong>Degraded:</strong> {app.statusReason ?? "some of its actors are lost"}
        </p>
      )}
      {app.status === "deleted" && (
        <p className="callout callout--warn" data-testid="app-page-deleted">
          Deleted: its VMs are destroyed and its actors gone; its operations and audit trail are kept below and in History.
        </p>
      )}

      <dl className="facts">
        <div>
          <dt>Kind</dt>
          <dd data-testid="app-page-kind">{summary.kind}</dd>
        </div>
        <div>
          <dt>Version</dt>
          <dd data-testid="app-page-version">{summary.version ?? "—"}</dd>
        </div>
        <div>
          <dt>Status</dt>
          <dd data-testid="app-page-status-text" data-status={app.status}>
            {statusLabel(app.status)}
            {app.statusReason && app.status !== "degraded" && <span className="muted"> — {app.statusReason}</span>}
          </dd>
        </div>
        <Progress app={app} now={now} />
      </dl>

      <Actions app={app} summary={summary} vms={vms} />

      <section className="panel" aria-label="VMs">
        <h2 className="panel__title">VMs</h2>
        {vms.length === 0 ? (
          <p className="placeholder placeholder--small" data-testid="app-vms-none">
            No VMs
          </p>
        ) : (
          <table className="table table--compact table--stack" data-testid="app-vms">
            <thead>
              <tr>
                <th>VM</th>
                <th>Host</th>
                <th className="num">vCPUs</th>
                <th className="num">Memory</th>
                <th>State</th>
                <th className="num">Actors</th>
                <th>Actions</th>
              </tr>
            </thead>
            <tbody>
              {vms.map((vm) => (
                <VmRow
                  key={vm.id}
                  vm={vm}
                  actions={vmActionItems({ vm, application: app, siblings: vms, canOperate })}
                  onChoose={(key) => (key === "split" ? setSplitVmId(vm.id) : setMergeWith(vm.id))}
                />
              ))}
            </tbody>
          </table>
        )}
      </section>

      {splitVm && (
        <SplitDialog key={splitVm.id} source={splitVm} hosts={hosts} application={app} onClose={() => setSplitVmId(null)} />
      )}
      {mergeWith && (
        <MergeDialog
          hosts={hosts}
          applications={topology.data.applications}
          initialVmIds={[mergeWith]}
          onClose={() => setMergeWith(null)}
        />
      )}

      <ApplicationCommunication id={id} now={now} />
      <Recovery id={id} app={app} now={now} />
      <RecentOperations id={id} now={now} />
    </>
  );
}

function Progress({ app, now }: { app: TopologyApplication; now: number }) {
  const rate = useIterationRate(app.id, now);
  return (
    <div>
      <dt>Progress</dt>
      <dd>
        iteration{" "}
        <span data-testid="app-page-iteration" data-value={app.iteration}>
          {app.iteration.toLocaleString("en-US")}
        </span>
        {rate !== null && (
          <span className="muted" data-testid="app-page-rate">
            {" "}
            · {rate === 0 ? "no progress" : `${rate.toFixed(1)} it/s`}
          </span>
        )}
      </dd>
    </div>
  );
}

/** One of its VMs, with the VM's actions menu (split, merge, its own page). */
function VmRow({
  vm,
  actions,
  onChoose,
}: {
  vm: TopologyVm;
  actions: readonly VmActionItem[];
  onChoose: (key: "split" | "merge") => void;
}) {
  return (
    <tr data-testid={`app-vm-${vm.name}`} data-state={vm.state}>
      <td data-label="VM" className="mono">
        {vm.name}
        {vm.lockedBy && (
          <>
            {" "}
            <Link className="badge badge--lock" href={`/operations/${vm.lockedBy}`} title="Held by this operation">
              locked · op {shortId(vm.lockedBy)}
            </Link>
          </>
        )}
      </td>
      <td data-label="Host" data-testid={`app-vm-host-${vm.name}`}>
        <Link href="/">{vm.hostId}</Link>
      </td>
      <td data-label="vCPUs" className="num" data-testid={`app-vm-vcpus-${vm.name}`}>
        {vm.vcpus}
      </td>
      <td data-label="Memory" className="num" data-testid={`app-vm-memory-${vm.name}`}>
        {formatMiB(vm.memoryMiB)}
      </td>
      <td data-label="State">
        <StatusBadge status={vm.state} of="vm" testId={`app-vm-state-${vm.name}`} />
      </td>
      <td data-label="Actors" className="num" data-testid={`app-vm-actors-${vm.name}`}>
        {vm.actorCount}
      </td>
      <td data-label="Actions">
        <VmActionsMenu vmName={vm.name} vmId={vm.id} items={actions} onChoose={onChoose} />
      </td>
    </tr>
  );
}

const ACTION_EXPLANATIONS: Record<ApplicationAction, string> = {
  stop: "Its actors hold at their safe points; its VMs stay",
  start: "Its actors resume where they held",
  delete: "Its VMs are destroyed and its actors gone; its history is kept",
};

/** Stop, start, delete and upgrade, each disabled with the reason in plain view; the accepted operation followed inline. */
function Actions({ app, summary, vms }: { app: TopologyApplication; summary: ApplicationSummary; vms: TopologyVm[] }) {
  const client = useTRPCClient();
  const canOperate = useCanOperate();
  const keys = useRef(keyKeeper()).current;
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [upgrading, setUpgrading] = useState(false);
  const [followed, setFollowed] = useState<{ id: string; kind: string } | null>(null);
  // Sent once, now or never: no retry, and no waiting for the browser to come back online.
  const action = useMutation({
    mutationFn: ({ kind, applicationId }: { kind: ApplicationAction; applicationId: string }) =>
      sendOnce(keys.guardFor({ kind, applicationId }), (guard, signal) =>
        client.applications[kind].mutate({ applicationId, ...guard }, { signal }),
      ),
    networkMode: "always",
    retry: false,
    onSuccess: (op) => {
      keys.done();
      setFollowed(op);
    },
  });
  const run = (kind: ApplicationAction) => action.mutate({ kind, applicationId: app.id });
  if (app.status === "deleted" && !followed) return null;
  return (
    <section className="panel app-actions" aria-label="Actions" data-testid="app-actions">
      <div className="app-actions__row">
        {(["stop", "start", "delete"] as const).map((kind) => {
          const blocker = applicationActionBlocker(kind, app, vms, canOperate);
          return (
            <div className="app-actions__action" key={kind}>
              <button
                type="button"
                className={`button${kind === "delete" ? " button--danger" : ""}`}
                data-testid={`app-${kind}`}
                disabled={blocker !== null || action.isPending}
                aria-describedby={blocker ? `app-${kind}-why` : undefined}
                title={blocker ?? ACTION_EXPLANATIONS[kind]}
                onClick={() => (kind === "delete" ? setConfirmDelete(true) : run(kind))}
              >
                {ACTION_LABELS[kind]}
                {kind === "delete" ? "…" : ""}
              </button>
              <span className="why" id={`app-${kind}-why`} data-testid={`app-${kind}-why`}>
                {blocker ?? ACTION_EXPLANATIONS[kind]}
              </span>
            </div>
          );
        })}
        <UpgradeAction
          app={app}
          summary={summary}
          vms={vms}
          canOperate={canOperate}
          busy={action.isPending}
          open={upgrading}
          onOpen={() => setUpgrading(true)}
          onClose={() => setUpgrading(false)}
          onAccepted={(op) => {
            setUpgrading(false);
            setFollowed(op);
          }}
        />
      </div>
      {action.isError && (
        <p className="callout callout--bad" role="alert" data-testid="app-action-error">
          {describeError(action.error)}
        </p>
      )}
      {followed && <FollowedOperation key={followed.id} id={followed.id} kind={followed.kind} />}
      {confirmDelete && (
        <ConfirmDialog
          title={`Delete ${app.id}?`}
          confirmLabel={`Delete ${app.id}`}
          danger
          testId="app-delete-confirm"
          onCancel={() => setConfirmDelete(false)}
          onConfirm={() => {
            setConfirmDelete(false);
            run("delete");
          }}
        >
          <p>
            <strong>{app.id}</strong> is deleted: its VMs ({vms.map((v) => v.name).join(", ") || "none left"}) are destroyed and
            its actors are gone. Its operations and audit trail are kept in History.
          </p>
        </ConfirmDialog>
      )}
    </section>
  );
}

const UPGRADE_EXPLANATION =
  "Another registered version: rolled onto new VMs with each actor moved live, or the whole application restarted from a checkpoint";

/** The Upgrade button beside the others, with its reason, and its dialog. */
function UpgradeAction({
  app,
  summary,
  vms,
  canOperate,
  busy,
  open,
  onOpen,
  onClose,
  onAccepted,
}: {
  app: TopologyApplication;
  summary: ApplicationSummary;
  vms: TopologyVm[];
  canOperate: boolean;
  busy: boolean;
  open: boolean;
  onOpen: () => void;
  onClose: () => void;
  onAccepted: (op: { id: string; kind: string }) => void;
}) {
  const trpc = useTRPC();
  const kinds = useQuery(trpc.applications.kinds.queryOptions());
  const bundles = useQuery(trpc.applications.bundles.queryOptions());
  const kind = kinds.data?.find((k) => k.kind === summary.kind);
  const versions = upgradeVersions(kind, summary.version);
  const formats = new Map<string, BundleStateFormat>(
    (bundles.data ?? []).filter((b) => b.kind === summary.kind).map((b) => [b.version, b]),
  );
  const blocker = kinds.isPending
    ? "Reading the registered versions…"
    : kinds.isError
      ? `Cannot read the registered versions. ${describeError(kinds.error)}`
      : upgradeBlocker({ status: app.status, kind: summary.kind, version: summary.version }, kind, vms, canOperate);
  return (
    <div className="app-actions__action">
      <button
        type="button"
        className="button"
        data-testid="app-upgrade"
        disabled={blocker !== null || busy}
        aria-describedby="app-upgrade-why"
        title={blocker ?? UPGRADE_EXPLANATION}
        onClick={onOpen}
      >
        Upgrade…
      </button>
      <span className="why" id="app-upgrade-why" data-testid="app-upgrade-why">
        {blocker ?? UPGRADE_EXPLANATION}
      </span>
      {open && summary.version !== null && (
        <UpgradeDialog
          applicationId={app.id}
          kind={summary.kind}
          running={summary.version}
          versions={versions}
          formats={formats}
          onAccepted={onAccepted}
          onClose={onClose}
        />
      )}
    </div>
  );
}

/** The operation an action created: its status as it runs, and a link to its page. */
function FollowedOperation({ id, kind }: { id: string; kind: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const live = useLive();
  const op = useQuery({
    ...trpc.operations.get.queryOptions({ id }),
    refetchInterval: (q) => (live || (q.state.data && isTerminal(q.state.data.status)) ? false : 2000),
  });
  const status = op.data?.status ?? "queued";
  // What it changed (an upgrade's version, a stop's status) is read anew once it has ended.
  const ended = isTerminal(status);
  useEffect(() => {
    if (!ended) return;
    void queryClient.invalidateQueries(trpc.applications.pathFilter());
    void queryClient.invalidateQueries(trpc.topology.pathFilter());
  }, [ended, queryClient, trpc]);
  return (
    <p className="callout app-actions__op" data-testid="app-action-op" data-kind={kind} data-status={status}>
      {statusLabel(kind)} accepted as <Link href={`/operations/${id}`}>operation {shortId(id)}</Link>{" "}
      <StatusBadge status={status} testId="app-action-op-status" />
      {op.data?.error && <span className="muted"> — {op.data.error}</span>}
    </p>
  );
}

/**
 * Live iteration events only ever raise the counter shown (an older event must not undo a newer
 * refetch), so once a restore has been served the progress it went back to is read anew: the
 * worker records the restored actors' progress within 500 ms.
 */
function useRefetchWhenRestored(pendingSequence: number | null): void {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const was = useRef(pendingSequence);
  useEffect(() => {
    const before = was.current;
    was.current = pendingSequence;
    if (before === null || pendingSequence !== null) return;
    const timers = [1000, 3000].map((ms) => setTimeout(() => void queryClient.invalidateQueries(trpc.topology.pathFilter()), ms));
    return () => timers.forEach(clearTimeout);
  }, [pendingSequence, queryClient, trpc]);
}

/** Checkpoints, automatic recovery and "restore from checkpoint #N". */
function Recovery({ id, app, now }: { id: string; app: TopologyApplication; now: number }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const canOperate = useCanOperate();
  // Checkpoints are taken in the background (periodically, at a stop, before an operation): polled.
  const recovery = useQuery({ ...trpc.applications.recovery.queryOptions({ applicationId: id }), refetchInterval: 3000 });
  const onChanged = (data: ApplicationRecovery) =>
    queryClient.setQueryData(trpc.applications.recovery.queryKey({ applicationId: id }), data);
  const setAuto = useMutation(trpc.applications.setAutoRecovery.mutationOptions({ onSuccess: onChanged }));
  const restore = useMutation(trpc.applications.restore.mutationOptions({ onSuccess: onChanged }));
  const [restoring, setRestoring] = useState<ApplicationCheckpoint | null>(null);
  // The operator's choice, shown from the click itself (React puts a controlled checkbox back at
  // once unless its state changed in the same event); cleared once the server has answered.
  const [chosenAuto, setChosenAuto] = useState<boolean | null>(null);
  const viewerWhy = "Your role is viewer: an operator changes recovery and restores checkpoints";
  useRefetchWhenRestored(recovery.data?.restoreRequested?.sequence ?? null);
  const deleted = app.status === "deleted";

  if (recovery.isPending) return <p className="placeholder">Loading checkpoints…</p>;
  if (recovery.isError)
    return <p className="callout callout--bad">Cannot load the checkpoints. {describeError(recovery.error)}</p>;
  const r = recovery.data;
  const failure = setAuto.error ?? restore.error;
  // The switch shows the operator's choice at once; a refusal puts it back.
  const autoRecovery = chosenAuto ?? r.autoRecovery;

  return (
    <section className="panel" aria-label="Checkpoints and recovery" data-testid="app-recovery">
      <h2 className="panel__title">Checkpoints and recovery</h2>
      {r.restoreRequested && (
        <p className="callout callout--warn" data-testid="app-restore-pending" data-sequence={r.restoreRequested.sequence}>
          Restore from checkpoint #{r.restoreRequested.sequence} requested by <strong>{r.restoreRequested.by}</strong>: the worker
          serves it once no operation holds the application&apos;s VMs.
        </p>
      )}
      <div className="action-with-why app-recovery__auto">
        <label className="checklist__item">
          <input
            type="checkbox"
            data-testid="app-auto-recovery"
            checked={autoRecovery}
            disabled={!canOperate || deleted || setAuto.isPending}
            aria-describedby="app-auto-recovery-why"
            onChange={(e) => {
              setChosenAuto(e.target.checked);
              setAuto.mutate({ applicationId: id, enabled: e.target.checked }, { onSettled: () => setChosenAuto(null) });
            }}
          />{" "}
          Automatic recovery
        </label>
        <span className="why" id="app-auto-recovery-why" data-testid="app-auto-recovery-why">
          {!canOperate
            ? viewerWhy
            : autoRecovery
              ? "On: a lost VM is replaced and the application restored from its last checkpoint by itself"
              : "Off: a lost VM leaves the application degraded until an operator restores it"}
        </span>
      </div>
      {failure && (
        <p className="callout callout--bad" role="alert" data-testid="app-recovery-error">
          {describeError(failure)}
        </p>
      )}
      {r.checkpoints.length === 0 ? (
        <p className="placeholder placeholder--small" data-testid="app-checkpoints-none">
          No checkpoint yet: one is taken periodically, before every split or merge, and when the worker stops.
        </p>
      ) : (
        <table className="table table--compact table--stack" data-testid="app-checkpoints">
          <thead>
            <tr>
              <th className="num">#</th>
              <th>Taken at</th>
              <th className="num">Progress</th>
              <th className="num">Actors</th>
              <th className="num">Size</th>
              <th>sha256</th>
              <th>Reason</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {r.checkpoints.map((c) => (
              <tr
                key={c.sequence}
                data-testid={`app-checkpoint-${c.sequence}`}
                data-sequence={c.sequence}
                data-iteration={c.iteration}
                data-reason={c.reason}
              >
                <td data-label="#" className="num">
                  {c.sequence}
                </td>
                <td data-label="Taken at" title={formatTime(c.takenAt, now)}>
                  {formatInstant(c.takenAt)}
                </td>
                <td data-label="Progress" className="num">
                  {c.iteration.toLocaleString("en-US")}
                </td>
                <td data-label="Actors" className="num">
                  {c.actors}
                </td>
                <td data-label="Size" className="num">
                  {formatBytes(c.bytes)}
                </td>
                <td data-label="sha256" className="mono" title={c.sha256}>
                  {c.sha256.slice(0, 12)}
                </td>
                <td data-label="Reason">{c.reason}</td>
                <td>
                  <button
                    type="button"
                    className="button button--small"
                    data-testid={`app-restore-${c.sequence}`}
                    disabled={!canOperate || deleted || restore.isPending}
                    title={canOperate ? `Restore ${id} from checkpoint #${c.sequence}` : viewerWhy}
                    onClick={() => setRestoring(c)}
                  >
                    Restore from checkpoint #{c.sequence}…
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {!canOperate && r.checkpoints.length > 0 && (
        <p className="why" data-testid="app-restore-why">
          {viewerWhy}
        </p>
      )}
      {restoring && (
        <ConfirmDialog
          title={`Restore ${id} from checkpoint #${restoring.sequence}?`}
          confirmLabel={`Restore from #${restoring.sequence}`}
          testId="app-restore-confirm"
          onCancel={() => setRestoring(null)}
          onConfirm={() => {
            setRestoring(null);
            restore.mutate({ applicationId: id, sequence: restoring.sequence });
          }}
        >
          <p>
            {id} goes back to that checkpoint&apos;s progress: iteration {restoring.iteration.toLocaleString("en-US")}, taken{" "}
            {formatInstant(restoring.takenAt)}. Every actor is restored from it, and what it computed since is computed again.
          </p>
        </ConfirmDialog>
      )}
    </section>
  );
}

function RecentOperations({ id, now }: { id: string; now: number }) {
  const trpc = useTRPC();
  const ops = useQuery({
    ...trpc.applications.operations.queryOptions({ applicationId: id }),
    refetchInterval: (q) => (q.state.data?.some((o) => !isTerminal(o.status)) ? 2000 : 10_000),
  });
  return (
    <section className="panel" aria-label="Recent operations">
      <h2 className="panel__title">Recent operations</h2>
      {ops.isError && <p className="callout callout--bad">{describeError(ops.error)}</p>}
      {ops.data?.length === 0 && <p className="placeholder placeholder--small">No operations yet</p>}
      {ops.data && ops.data.length > 0 && (
        <table className="table table--compact table--stack" data-testid="app-operations">
          <thead>
            <tr>
              <th>Kind</th>
              <th>Operation</th>
              <th>Submitted</th>
              <th>Operator</th>
              <th>Outcome</th>
            </tr>
          </thead>
          <tbody>
            {ops.data.map((op) => (
              <tr key={op.id} data-testid="app-op-row" data-kind={op.kind} data-status={op.status}>
                <td data-label="Kind">{statusLabel(op.kind)}</td>
                <td data-label="Operation">
                  <Link href={`/operations/${op.id}`} className="mono">
                    {shortId(op.id)}
                  </Link>
                </td>
                <td data-label="Submitted" title={formatInstant(op.createdAt)}>
                  {formatTime(op.createdAt, now)}
                </td>
                <td data-label="Operator">{op.operator}</td>
                <td data-label="Outcome">
                  <StatusBadge status={op.status} />
                  {op.error && <span className="muted"> {op.error}</span>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
