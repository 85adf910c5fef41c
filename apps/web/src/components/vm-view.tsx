"use client";

import { keepPreviousData, useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { useState } from "react";
import { CartesianGrid, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { describeError } from "../lib/errors";
import { actorShortName, formatInstant, formatMiB, formatTime, shortId, statusLabel, zoneLabel } from "../lib/format";
import { isActive, kindLabel, taskOutcome, taskTargets } from "../lib/task-bar";
import { vmActionItems } from "../lib/vm-actions";
import { useTRPC } from "../trpc/react";
import type { VmDetail } from "../trpc/types";
import { useLive } from "./live-events";
import { MergeDialog } from "./merge-dialog";
import { SplitDialog } from "./split-dialog";
import { StatusBadge } from "./status-badge";
import { useNow } from "./use-now";
import { useCanOperate } from "./user-context";
import { VmActionsMenu } from "./vm-actions-menu";

/** Actors shown per page of the VM's actor list. */
const ACTORS_PAGE = 100;
const clock = (ms: number) => new Date(ms).toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit", second: "2-digit" });

/**
 * One VM (as Horizon's instance page): its resources, host, application, status, actors, CPU
 * over time and every operation it took part in, with its actions menu. A deleted VM keeps its
 * page and its history. Kept current by the live events (vms.get is refetched on each change).
 */
export function VmView({ id }: { id: string }) {
  const trpc = useTRPC();
  const live = useLive();
  const poll = live ? false : 5000;
  const [actorsOffset, setActorsOffset] = useState(0);
  const detail = useQuery({
    ...trpc.vms.get.queryOptions({ id, actorsOffset, actorsLimit: ACTORS_PAGE }),
    refetchInterval: poll,
    placeholderData: keepPreviousData,
  });
  const topology = useQuery({ ...trpc.topology.get.queryOptions(), refetchInterval: poll });
  const canOperate = useCanOperate();
  const [dialog, setDialog] = useState<"split" | "merge" | null>(null);
  const now = useNow(1000);

  if (detail.isPending) return <p className="placeholder">Loading VM…</p>;
  if (detail.isError) return <p className="callout callout--bad">Cannot load the VM. {describeError(detail.error)}</p>;
  const vm = detail.data;
  const hosts = topology.data?.hosts ?? [];
  const liveVms = hosts.flatMap((h) => h.vms);
  const here = liveVms.find((v) => v.id === vm.id);
  const application = topology.data?.applications.find((a) => a.id === vm.application.id);
  const items = vmActionItems({
    vm: { ...vm, applicationId: vm.application.id },
    application: application ?? vm.application,
    siblings: liveVms.filter((v) => v.applicationId === vm.application.id),
    canOperate,
    onPage: true,
  });

  return (
    <>
      <nav className="breadcrumb" aria-label="Breadcrumb">
        <Link href="/">Topology</Link> / <span className="mono">{vm.name}</span>
      </nav>
      <div className="page-head">
        <div>
          <h1 data-testid="vm-page-title">
            <span className="mono">{vm.name}</span>
          </h1>
          <p className="muted">
            {vm.vcpus} vCPU · {formatMiB(vm.memoryMiB)} · on {vm.host.id} · {vm.application.id}
          </p>
        </div>
        <div className="page-head__actions vm__actions">
          <StatusBadge status={vm.state} of="vm" testId="vm-page-status" />
          {vm.lockedBy && (
            <Link className="badge badge--lock" href={`/operations/${vm.lockedBy}`} data-testid="vm-page-lock">
              locked · op {shortId(vm.lockedBy)}
            </Link>
          )}
          {vm.state !== "deleted" && (
            <VmActionsMenu vmName={vm.name} vmId={vm.id} items={items} onChoose={(key) => setDialog(key)} />
          )}
        </div>
      </div>

      {vm.state === "deleted" && (
        <p className="callout callout--warn" data-testid="vm-page-deleted">
          Deleted{vm.deletedAt ? ` ${formatInstant(vm.deletedAt)}` : ""}: the VM no longer exists; what it took part in is kept
          below.
        </p>
      )}

      <dl className="facts" data-testid="vm-page-facts">
        <div>
          <dt>vCPUs</dt>
          <dd data-testid="vm-page-vcpus">{vm.vcpus}</dd>
        </div>
        <div>
          <dt>Memory</dt>
          <dd data-testid="vm-page-memory" data-mib={vm.memoryMiB}>
            {formatMiB(vm.memoryMiB)}
          </dd>
        </div>
        <div>
          <dt>Host</dt>
          <dd data-testid="vm-page-host">
            <Link href={`/?host=${encodeURIComponent(vm.host.id)}`} className="mono">
              {vm.host.id}
            </Link>{" "}
            {vm.host.status !== "online" && <StatusBadge status={vm.host.status} />}
          </dd>
        </div>
        <div>
          <dt>Application</dt>
          <dd data-testid="vm-page-application">
            <Link href={`/applications/${encodeURIComponent(vm.application.id)}`} className="mono">
              {vm.application.id}
            </Link>
            {vm.application.status !== "running" && <span className="muted"> ({statusLabel(vm.application.status)})</span>}
          </dd>
        </div>
        <div>
          <dt>Status</dt>
          <dd data-testid="vm-page-state" data-state={vm.state}>
            {statusLabel(vm.state)}
          </dd>
        </div>
        <div>
          <dt>Actors</dt>
          <dd data-testid="vm-page-actor-count" data-count={vm.actors.total}>
            {vm.actors.total}
          </dd>
        </div>
        <div>
          <dt>CPU (latest)</dt>
          <dd data-testid="vm-page-cpu">{here?.cpuPercent == null ? "—" : `${here.cpuPercent.toFixed(0)} %`}</dd>
        </div>
        <div>
          <dt>Created</dt>
          <dd title={formatInstant(vm.createdAt)}>
            {formatTime(vm.createdAt, now)}
            {vm.createdBy && (
              <>
                {" "}
                by{" "}
                <Link href={`/operations/${vm.createdBy}`} className="mono">
                  op {shortId(vm.createdBy)}
                </Link>
              </>
            )}
          </dd>
        </div>
      </dl>

      <div className="columns">
        <Actors vm={vm} onPage={setActorsOffset} />
        <CpuChart id={vm.id} />
      </div>

      <Operations vm={vm} now={now} />

      {dialog === "split" && here && (
        <SplitDialog
          source={here}
          hosts={hosts}
          application={topology.data?.applications.find((a) => a.id === here.applicationId)}
          onClose={() => setDialog(null)}
        />
      )}
      {dialog === "merge" && topology.data && (
        <MergeDialog
          hosts={hosts}
          applications={topology.data.applications}
          initialVmIds={[vm.id]}
          onClose={() => setDialog(null)}
        />
      )}
    </>
  );
}

function Actors({ vm, onPage }: { vm: VmDetail; onPage: (offset: number) => void }) {
  const { total, offset, items } = vm.actors;
  const last = Math.min(total, offset + items.length);
  return (
    <section className="panel" aria-label="Actors" data-testid="vm-page-actors">
      <h2 className="panel__title">Actors ({total})</h2>
      {total === 0 ? (
        <p className="placeholder placeholder--small">No actors on this VM</p>
      ) : (
        <>
          <ul className="chips" data-testid="vm-page-actor-list">
            {items.map((a) => (
              <li key={a.uan} className="chip mono" title={`${a.uan} (${a.behavior})`} data-ordinal={a.ordinal}>
                #{a.ordinal} {actorShortName(a.uan)}
              </li>
            ))}
          </ul>
          {total > items.length && (
            <div className="pager" data-testid="vm-page-actor-pager">
              <button
                type="button"
                className="button button--small"
                disabled={offset === 0}
                onClick={() => onPage(Math.max(0, offset - ACTORS_PAGE))}
              >
                Previous
              </button>
              <span className="muted">
                {offset + 1}–{last} of {total}
              </span>
              <button
                type="button"
                className="button button--small"
                disabled={last >= total}
                onClick={() => onPage(offset + ACTORS_PAGE)}
              >
                Next
              </button>
            </div>
          )}
        </>
      )}
    </section>
  );
}

/** CPU samples arrive without an event: polled, as the Charts page does. */
const CPU_POLL_MS = 10_000;

function CpuChart({ id }: { id: string }) {
  const trpc = useTRPC();
  const cpu = useQuery({ ...trpc.vms.cpu.queryOptions({ id, minutes: 30 }), refetchInterval: CPU_POLL_MS });
  const points = (cpu.data ?? []).map((s) => ({ at: s.at.getTime(), cpu: s.cpuPercent }));
  return (
    <section className="panel" aria-label="CPU" data-testid="vm-page-cpu-chart" data-points={points.length}>
      <h2 className="panel__title">CPU, last 30 minutes</h2>
      {points.length === 0 ? (
        <p className="placeholder placeholder--small">No CPU samples in the last 30 minutes</p>
      ) : (
        <div className="chart__body" style={{ height: 220 }}>
          <ResponsiveContainer width="100%" height="100%">
            <LineChart data={points} margin={{ top: 8, right: 12, bottom: 18, left: 0 }}>
              <CartesianGrid strokeDasharray="3 3" stroke="#e5e7eb" />
              <XAxis
                dataKey="at"
                type="number"
                domain={["dataMin", "dataMax"]}
                tickFormatter={clock}
                fontSize={11}
                label={{ value: `time (${zoneLabel()})`, position: "insideBottom", offset: -10, fontSize: 11 }}
              />
              <YAxis
                domain={[0, 100]}
                fontSize={11}
                unit=" %"
                width={52}
                label={{ value: "CPU", angle: -90, position: "insideLeft", fontSize: 11 }}
              />
              <Tooltip labelFormatter={(v) => clock(Number(v))} formatter={(v) => [`${Number(v).toFixed(1)} %`, "CPU"]} />
              <Line type="monotone" dataKey="cpu" stroke="#2563eb" dot={false} isAnimationActive={false} />
            </LineChart>
          </ResponsiveContainer>
        </div>
      )}
    </section>
  );
}

function Operations({ vm, now }: { vm: VmDetail; now: number }) {
  return (
    <section className="panel" aria-label="Operations">
      <h2 className="panel__title">Operations ({vm.operations.length})</h2>
      {vm.operations.length === 0 ? (
        <p className="placeholder placeholder--small">This VM has taken part in no operation</p>
      ) : (
        <table className="table table--compact table--stack" data-testid="vm-page-operations">
          <thead>
            <tr>
              <th>Kind</th>
              <th>Operation</th>
              <th>Its part</th>
              <th>VMs</th>
              <th>Submitted</th>
              <th>Operator</th>
              <th>Outcome</th>
            </tr>
          </thead>
          <tbody>
            {vm.operations.map((op) => {
              const part = op.plan?.sources.some((s) => s.id === vm.id) ? "source" : "target";
              const outcome = taskOutcome(op);
              return (
                <tr
                  key={op.id}
                  data-testid="vm-op-row"
                  data-id={op.id}
                  data-kind={op.kind}
                  data-status={op.status}
                  data-part={part}
                >
                  <td data-label="Kind">{kindLabel(op.kind)}</td>
                  <td data-label="Operation">
                    <Link href={`/operations/${op.id}`} className="mono" data-testid={`vm-op-link-${op.id}`}>
                      {shortId(op.id)}
                    </Link>
                  </td>
                  <td data-label="Its part">{part}</td>
                  <td data-label="VMs" className="mono">
                    {taskTargets(op.kind, op.plan)}
                  </td>
                  <td data-label="Submitted" title={formatInstant(op.createdAt)}>
                    {formatTime(op.createdAt, now)}
                  </td>
                  <td data-label="Operator">{op.operator}</td>
                  <td data-label="Outcome">
                    <span className={`badge badge--${outcome.tone}`}>
                      {isActive(op.status) && <span className="spinner" aria-hidden />}
                      {outcome.label}
                    </span>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}
