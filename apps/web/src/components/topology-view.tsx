"use client";

import { placeableCapacity, splitBlocker } from "@malleo/core";
import { useQuery } from "@tanstack/react-query";
import { observeWindowRect, useWindowVirtualizer } from "@tanstack/react-virtual";
import Link from "next/link";
import { useSearchParams } from "next/navigation";
import { createContext, useContext, useDeferredValue, useEffect, useLayoutEffect, useRef, useState, type RefObject } from "react";
import { describeError } from "../lib/errors";
import { actorShortName, compactRanges, formatMiB, plural, shortId } from "../lib/format";
import { vmActivity } from "../lib/vm-activity";
import { useTRPC } from "../trpc/react";
import type { TopologyApplication, TopologyHost, TopologyVm } from "../trpc/types";
import { useIterationRate, useLive } from "./live-events";
import { MergeDialog } from "./merge-dialog";
import { SplitDialog } from "./split-dialog";
import { StatusBadge } from "./status-badge";
import { useNow } from "./use-now";
import { usePageOffset } from "./use-page-offset";
import { useCanOperate } from "./user-context";
import { VmActionsMenu } from "./vm-actions-menu";
import { vmActionItems } from "../lib/vm-actions";

/** The topology's applications by id: a VM card's Split says why when its application is degraded. */
const ApplicationsById = createContext<ReadonlyMap<string, TopologyApplication>>(new Map());
/** Every VM of each application: a VM card's Merge says why when it has no partner. */
const VmsByApplication = createContext<ReadonlyMap<string, readonly TopologyVm[]>>(new Map());
/** What a VM card's actions menu opens (the page's dialogs). */
const VmActions = createContext<{ split: (vmId: string) => void; merge: (vmId: string) => void }>({
  split: () => {},
  merge: () => {},
});

export function TopologyView() {
  const trpc = useTRPC();
  const live = useLive();
  const topology = useQuery({ ...trpc.topology.get.queryOptions(), refetchInterval: live ? false : 5000 });
  const [splitVmId, setSplitVmId] = useState<string | null>(null);
  // null: closed; otherwise the VMs ticked when it opens (a VM card's menu ticks its own).
  const [mergeWith, setMergeWith] = useState<string[] | null>(null);
  const canOperate = useCanOperate();
  // A VM page's host link opens the topology filtered to that host (/?host=pm-2).
  const initialHost = useSearchParams().get("host") ?? "";
  const [filter, setFilter] = useState<TopologyFilter>({ text: "", hostId: initialHost, applicationId: "", state: "" });
  const deferredFilter = useDeferredValue(filter);

  if (topology.isPending) return <p className="placeholder">Loading topology…</p>;
  // Only a topology never loaded is replaced by the error: a refetch that failed or was dropped
  // (a Transfer's batch event cancels one under way) keeps what is shown, open menus included.
  if (topology.data === undefined)
    return <p className="callout callout--bad">Cannot load the topology. {describeError(topology.error)}</p>;

  const { hosts, applications } = topology.data;
  const vms = hosts.flatMap((h) => h.vms);
  const splitVm = vms.find((v) => v.id === splitVmId);
  const shown = filterTopology(hosts, deferredFilter);
  const totalActors = topology.data.totalActors;

  return (
    <>
      <div className="page-head">
        <div>
          <h1>Topology</h1>
          <p className="muted">
            {plural(hosts.length, "host")} · {plural(vms.length, "VM")} · {plural(totalActors, "actor")}
          </p>
        </div>
        {canOperate ? (
          <div className="action-with-why">
            <button
              type="button"
              className="button"
              data-testid="merge-button"
              onClick={() => setMergeWith([])}
              disabled={vms.length < 2}
              aria-describedby={vms.length < 2 ? "merge-why" : undefined}
              title={vms.length < 2 ? "A merge needs at least 2 VMs" : "Merge VMs of one application into one"}
            >
              Merge VMs…
            </button>
            {vms.length < 2 && (
              <span className="why" id="merge-why" data-testid="merge-why">
                A merge needs at least 2 VMs
              </span>
            )}
          </div>
        ) : (
          <span className="tag" data-testid="view-only">
            view only: your role is viewer, and an admin can make you an operator
          </span>
        )}
      </div>

      <section className="apps" aria-label="Applications">
        {applications.map((app) => (
          <ApplicationCard key={app.id} app={app} vms={vms.filter((v) => v.applicationId === app.id)} />
        ))}
      </section>

      <form className="topology-filters panel" data-testid="topology-filters" onSubmit={(e) => e.preventDefault()}>
        <label className="field field--inline">
          <span className="field__label">Search VMs</span>
          <input
            data-testid="topology-search"
            value={filter.text}
            placeholder="name contains…"
            onChange={(e) => setFilter({ ...filter, text: e.target.value })}
          />
        </label>
        <label className="field field--inline">
          <span className="field__label">Host</span>
          <select
            data-testid="topology-host"
            value={filter.hostId}
            onChange={(e) => setFilter({ ...filter, hostId: e.target.value })}
          >
            <option value="">all</option>
            {hosts.map((h) => (
              <option key={h.id} value={h.id}>
                {h.id}
              </option>
            ))}
          </select>
        </label>
        <label className="field field--inline">
          <span className="field__label">Application</span>
          <select
            data-testid="topology-app"
            value={filter.applicationId}
            onChange={(e) => setFilter({ ...filter, applicationId: e.target.value })}
          >
            <option value="">all</option>
            {applications.map((a) => (
              <option key={a.id} value={a.id}>
                {a.id}
              </option>
            ))}
          </select>
        </label>
        <label className="field field--inline">
          <span className="field__label">State</span>
          <select
            data-testid="topology-state"
            value={filter.state}
            onChange={(e) => setFilter({ ...filter, state: e.target.value })}
          >
            <option value="">all</option>
            {["running", "provisioning", "deleting", "failed", "lost", "locked"].map((st) => (
              <option key={st} value={st}>
                {st}
              </option>
            ))}
          </select>
        </label>
        <span className="muted" data-testid="topology-shown">
          showing{" "}
          {plural(
            shown.reduce((n, h) => n + h.vms.length, 0),
            "VM",
          )}{" "}
          on {plural(shown.length, "host")}
        </span>
      </form>

      <ApplicationsById.Provider value={new Map(applications.map((a) => [a.id, a]))}>
        <VmsByApplication.Provider value={byApplication(vms)}>
          <VmActions.Provider value={{ split: setSplitVmId, merge: (id) => setMergeWith([id]) }}>
            <HostGrid hosts={shown} onSplit={canOperate ? setSplitVmId : null} />
          </VmActions.Provider>
        </VmsByApplication.Provider>
      </ApplicationsById.Provider>

      {splitVm && (
        <SplitDialog
          key={splitVm.id}
          source={splitVm}
          hosts={hosts}
          application={applications.find((a) => a.id === splitVm.applicationId)}
          onClose={() => setSplitVmId(null)}
        />
      )}
      {mergeWith && (
        <MergeDialog hosts={hosts} applications={applications} initialVmIds={mergeWith} onClose={() => setMergeWith(null)} />
      )}
    </>
  );
}

function byApplication(vms: readonly TopologyVm[]): Map<string, TopologyVm[]> {
  const m = new Map<string, TopologyVm[]>();
  for (const v of vms) m.set(v.applicationId, [...(m.get(v.applicationId) ?? []), v]);
  return m;
}

/** VMs rendered per host before "show all". */
const VM_PAGE = 12;
/** The narrowest host card (as .hosts lays them out) and the gap between cards, in px. */
const HOST_MIN_WIDTH = 330;
const HOST_GAP = 16;

/**
 * The width of an element, following resizes (0 before the first layout). A width of 0 is not
 * followed once laid out: it is no layout (a full-page screenshot in Chromium resizes the window
 * to 1×1 px for a moment), and following it regrouped every host into one column and back.
 */
function useElementWidth(ref: RefObject<HTMLElement | null>): number {
  const [width, setWidth] = useState(0);
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    setWidth(el.clientWidth);
    const observer = new ResizeObserver(([entry]) => {
      if (entry && entry.contentRect.width > 0) setWidth(entry.contentRect.width);
    });
    observer.observe(el);
    return () => observer.disconnect();
  }, [ref]);
  return width;
}

/**
 * The window's size for the virtualizer, leaving out a window 1 px wide or high: the moment of a
 * full-page screenshot (Chromium reports 1×1 px), in which only the first rows would count as in
 * view and the others, with what their cards hold, would be unmounted.
 */
const observeLaidOutWindowRect: typeof observeWindowRect = (instance, cb) =>
  observeWindowRect(instance, (rect) => {
    if (rect.width > 1 && rect.height > 1) cb(rect);
  });

/**
 * The hosts in rows of as many cards as fit, windowed over the page's scroll: only the rows in
 * view (and one either side) are in the DOM, so 100 hosts and 1,000 VMs cost a few dozen cards.
 * Rows are measured once rendered, since a host's height depends on its VMs.
 *
 * The rows in view are one grid whose children are keyed by host id, not one element per row:
 * when the width changes the column count (a resize, a scrollbar, a full-page screenshot), a
 * host moves to another row without being remounted, so what its cards hold (an open actions
 * menu and the focus in it, a "show all") stays. Each row is measured on its first cell, which
 * the grid stretches to the row's height.
 */
function HostGrid({ hosts, onSplit }: { hosts: TopologyHost[]; onSplit: ((vmId: string) => void) | null }) {
  const ref = useRef<HTMLDivElement>(null);
  const width = useElementWidth(ref);
  const columns = Math.max(1, Math.floor((width + HOST_GAP) / (HOST_MIN_WIDTH + HOST_GAP)));
  const scrollMargin = usePageOffset(ref);
  const virtualizer = useWindowVirtualizer({
    count: Math.ceil(hosts.length / columns),
    estimateSize: () => 440,
    overscan: 1,
    scrollMargin,
    gap: HOST_GAP,
    paddingEnd: HOST_GAP,
    observeElementRect: observeLaidOutWindowRect,
  });
  const rows = virtualizer.getVirtualItems();
  const first = rows[0];
  return (
    <section
      ref={ref}
      className="hosts-window"
      aria-label="Hosts"
      data-testid="topology-hosts"
      style={{ height: virtualizer.getTotalSize() }}
    >
      {first && (
        <div
          className="hosts hosts-window__rows"
          style={{
            gridTemplateColumns: `repeat(${columns}, minmax(0, 1fr))`,
            transform: `translateY(${first.start - scrollMargin}px)`,
          }}
        >
          {rows.flatMap((row) =>
            hosts.slice(row.index * columns, (row.index + 1) * columns).map((host, column) => (
              <div
                key={host.id}
                className="hosts-window__cell"
                data-index={row.index}
                ref={column === 0 ? virtualizer.measureElement : undefined}
              >
                <HostCard host={host} onSplit={onSplit} />
              </div>
            )),
          )}
        </div>
      )}
    </section>
  );
}

interface TopologyFilter {
  text: string;
  hostId: string;
  applicationId: string;
  state: string;
}

/** Hosts and VMs matching the filter; with a VM-level filter, hosts without a match are left out. */
function filterTopology(hosts: TopologyHost[], f: TopologyFilter): TopologyHost[] {
  const text = f.text.trim().toLowerCase();
  const vmFilter = Boolean(text || f.applicationId || f.state);
  return hosts
    .filter((h) => !f.hostId || h.id === f.hostId)
    .map((h) =>
      vmFilter
        ? {
            ...h,
            vms: h.vms.filter(
              (v) =>
                (!text || v.name.toLowerCase().includes(text)) &&
                (!f.applicationId || v.applicationId === f.applicationId) &&
                (!f.state || (f.state === "locked" ? v.lockedBy !== null : v.state === f.state)),
            ),
          }
        : h,
    )
    .filter((h) => !vmFilter || h.vms.length > 0);
}

function ApplicationCard({ app, vms }: { app: TopologyApplication; vms: TopologyVm[] }) {
  const now = useNow(1000);
  const rate = useIterationRate(app.id, now);
  const actors = vms.reduce((s, v) => s + v.actorCount, 0);
  return (
    <article className="app-card" data-testid={`app-${app.id}`}>
      <div className="app-card__title">
        <Link className="app-card__name" href={`/applications/${app.id}`} data-testid={`app-link-${app.id}`} title="Its own page">
          {app.id}
        </Link>
        {app.kind !== app.id && <span className="tag">{app.kind}</span>}
        {app.status !== "running" && <StatusBadge status={app.status} testId={`app-status-${app.id}`} />}
      </div>
      {app.statusReason && (
        <div className="muted" data-testid={`app-status-reason-${app.id}`}>
          {app.statusReason}
        </div>
      )}
      <div className="app-card__stat">
        <span className="muted">iteration</span>{" "}
        <span className="app-card__iteration" data-testid={`app-iteration-${app.id}`} data-value={app.iteration}>
          {app.iteration.toLocaleString("en-US")}
        </span>
        {rate !== null && (
          <span className="muted app-card__rate" data-testid={`app-rate-${app.id}`}>
            {rate === 0 ? "no progress" : `${rate.toFixed(1)} it/s`}
          </span>
        )}
      </div>
      <div className="muted">
        {plural(actors, "actor")} on {plural(vms.length, "VM")}
      </div>
    </article>
  );
}

function Meter({
  label,
  used,
  total,
  format,
  testId,
}: {
  label: string;
  used: number;
  total: number;
  format: (n: number) => string;
  testId?: string;
}) {
  const pct = total > 0 ? Math.min(100, (used / total) * 100) : 0;
  const tone = pct > 90 ? "bad" : pct > 70 ? "warn" : "ok";
  const free = Math.max(0, total - used);
  return (
    <div className="meter" data-testid={testId} data-free={free}>
      <div className="meter__label">
        <span className="meter__name">{label}</span>
        <strong className="meter__value">{format(free)} free</strong>
      </div>
      <div className="meter__track" role="meter" aria-label={label} aria-valuemin={0} aria-valuemax={total} aria-valuenow={used}>
        <div className={`meter__fill meter__fill--${tone}`} style={{ width: `${pct}%` }} />
      </div>
      <div className="meter__used">
        {format(used)} of {format(total)} used
      </div>
    </div>
  );
}

function HostCard({ host, onSplit }: { host: TopologyHost; onSplit: ((vmId: string) => void) | null }) {
  const [all, setAll] = useState(false);
  const visible = all ? host.vms : host.vms.slice(0, VM_PAGE);
  const usedCpus = host.vms.reduce((s, v) => s + v.vcpus, 0);
  const usedMem = host.vms.reduce((s, v) => s + v.memoryMiB, 0);
  // What placement may use: the host's CPUs and memory times its overcommit ratios.
  const placeable = placeableCapacity(host);
  return (
    <section className="host" data-testid={`host-${host.id}`} aria-label={`Host ${host.id}`}>
      <header className="host__head">
        <h2 className="host__name">{host.id}</h2>
        <StatusBadge status={host.status} />
        <span className="host__slots" data-testid={`host-slots-${host.id}`} title="VM slots used / quota">
          {host.vms.length} / {host.vmQuota} VMs
        </span>
      </header>
      <div className="host__meters">
        <Meter label="vCPUs" used={usedCpus} total={placeable.vcpus} format={String} testId={`host-cpu-meter-${host.id}`} />
        <Meter
          label="Memory"
          used={usedMem}
          total={placeable.memoryMiB}
          format={formatMiB}
          testId={`host-mem-meter-${host.id}`}
        />
      </div>
      <div className="host__vms">
        {host.vms.length === 0 ? (
          <p className="placeholder placeholder--small">No VMs</p>
        ) : (
          visible.map((vm) => <VmCard key={vm.id} vm={vm} onSplit={onSplit} />)
        )}
        {host.vms.length > visible.length && (
          <button type="button" className="button button--small button--ghost" onClick={() => setAll(true)}>
            Show all {host.vms.length} VMs
          </button>
        )}
      </div>
    </section>
  );
}

/** How long a VM card shows actors arriving or leaving after its count last changed. */
const DELTA_SHOWN_MS = 4000;

/**
 * The change in a VM's actor count over the current burst (a Transfer's batches add up), shown
 * for a few seconds after the last change; null when nothing moved recently.
 */
function useActorDelta(count: number): number | null {
  const previous = useRef(count);
  const [delta, setDelta] = useState<number | null>(null);
  useEffect(() => {
    const d = count - previous.current;
    previous.current = count;
    if (d === 0) return;
    setDelta((old) => (old !== null && Math.sign(old) === Math.sign(d) ? old + d : d));
    const timer = setTimeout(() => setDelta(null), DELTA_SHOWN_MS);
    return () => clearTimeout(timer);
  }, [count]);
  return delta;
}

function VmCard({ vm, onSplit }: { vm: TopologyVm; onSplit: ((vmId: string) => void) | null }) {
  const application = useContext(ApplicationsById).get(vm.applicationId);
  const blocker = splitBlocker(vm, application)?.message ?? null;
  const actions = useContext(VmActions);
  const menuItems = vmActionItems({
    vm,
    application,
    siblings: useContext(VmsByApplication).get(vm.applicationId) ?? [],
    canOperate: onSplit !== null,
  });
  const delta = useActorDelta(vm.actorCount);
  // After a live count update the actor list is older than the count until the next refetch.
  const listed = vm.actors.length > 0 && vm.actors.length === vm.actorCount;
  return (
    <article className="vm" data-testid={`vm-${vm.name}`} data-state={vm.state}>
      <div className="vm__head">
        <Link className="vm__name" href={`/vms/${vm.id}`} data-testid={`vm-link-${vm.name}`} title="Its own page">
          {vm.name}
        </Link>
        <VmActivityBadge vm={vm} />
        {vm.lockedBy && (
          <Link
            className="badge badge--lock"
            href={`/operations/${vm.lockedBy}`}
            data-testid={`vm-lock-${vm.name}`}
            title="Held by this operation"
          >
            locked · op {shortId(vm.lockedBy)}
          </Link>
        )}
      </div>
      <div className="vm__resources">
        <span>{vm.vcpus} vCPU</span>
        <span>{formatMiB(vm.memoryMiB)}</span>
        <span className="vm__cpu" data-testid={`vm-cpu-${vm.name}`} title="CPU usage, latest sample">
          {vm.cpuPercent === null ? "CPU —" : `CPU ${vm.cpuPercent.toFixed(0)} %`}
        </span>
        <span className="muted">{vm.applicationId}</span>
      </div>
      <details className="vm__actors">
        <summary>
          <span
            className={`vm__actor-count${delta ? (delta > 0 ? " vm__actor-count--in" : " vm__actor-count--out") : ""}`}
            data-testid={`vm-actors-${vm.name}`}
          >
            {vm.actorCount}
          </span>{" "}
          {vm.actorCount === 1 ? "actor" : "actors"}
          {delta !== null && delta !== 0 && (
            <span
              className={`vm__delta vm__delta--${delta > 0 ? "in" : "out"}`}
              data-testid={`vm-delta-${vm.name}`}
              data-delta={delta}
              title="Actors moved by the running operation in the last few seconds"
            >
              {delta > 0 ? `+${delta} arriving` : `−${-delta} leaving`}
            </span>
          )}
          {listed ? (
            <span className="muted mono"> #{compactRanges(vm.actors.map((a) => a.ordinal))}</span>
          ) : (
            vm.firstOrdinal !== null && (
              <span className="muted mono">
                {" "}
                #{vm.firstOrdinal}–{vm.lastOrdinal}
              </span>
            )
          )}
        </summary>
        <ul className="chips">
          {vm.actors.map((a) => (
            <li key={a.uan} className="chip mono" title={`${a.uan} (${a.behavior})`}>
              {actorShortName(a.uan)}
            </li>
          ))}
        </ul>
      </details>
      <div className="vm__actions">
        {onSplit && blocker && (
          <span className="why" id={`split-why-${vm.id}`} data-testid={`split-why-${vm.name}`}>
            {blocker}
          </span>
        )}
        {onSplit && (
          <button
            type="button"
            className="button button--small"
            data-testid={`split-button-${vm.name}`}
            onClick={() => onSplit(vm.id)}
            disabled={blocker !== null}
            aria-describedby={blocker ? `split-why-${vm.id}` : undefined}
            title={blocker ?? `Split ${vm.name} into several VMs`}
          >
            Split…
          </button>
        )}
        <VmActionsMenu vmName={vm.name} vmId={vm.id} items={menuItems} onChoose={(key) => actions[key](vm.id)} />
      </div>
    </article>
  );
}

/** The VM's state, or its part in the operation holding it: "Moving out" (a source), "Receiving" (a target). */
function VmActivityBadge({ vm }: { vm: TopologyVm }) {
  const a = vmActivity(vm);
  return (
    <span
      className={`badge badge--${a.tone}`}
      data-testid={`vm-state-${vm.name}`}
      data-status={vm.state}
      data-activity={a.key}
      data-role={a.role ?? ""}
    >
      {a.busy && <span className="spinner" aria-hidden />}
      {a.label}
    </span>
  );
}
