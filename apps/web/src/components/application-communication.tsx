"use client";

import { useQuery } from "@tanstack/react-query";
import { useId, useState } from "react";
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import {
  communicationMatrix,
  crossVmShare,
  formatRate,
  splitAdvice,
  vmChanges,
  type CommunicationMatrix,
  type CommunicationMode,
} from "../lib/communication";
import { describeError } from "../lib/errors";
import { formatTime, plural, zoneLabel } from "../lib/format";
import { useTRPC } from "../trpc/react";
import type { ApplicationCommunication as ApplicationCommunicationView } from "../trpc/types";

/** Matrices wider than this show no numbers in their cells (the table has them). */
const NUMBERS_UP_TO = 6;
const clock = (ms: number) => new Date(ms).toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit", second: "2-digit" });
const percent = (share: number) => `${(share * 100).toFixed(share > 0 && share < 0.01 ? 1 : 0)}%`;

/**
 * The application's communication, as the worker samples it from the theaters' message
 * counters: how much crosses VMs, a heatmap between VMs or actor groups (with the same figures
 * as a table), and its throughput, messages and VMs over the last 15 minutes.
 */
export function ApplicationCommunication({ id, now }: { id: string; now: number }) {
  const trpc = useTRPC();
  const q = useQuery({ ...trpc.applications.communication.queryOptions({ applicationId: id }), refetchInterval: 5000 });
  const [mode, setMode] = useState<CommunicationMode>("vm");
  const name = useId();

  if (q.isPending) return <p className="placeholder placeholder--small">Loading communication…</p>;
  if (q.isError) return <p className="callout callout--bad">Cannot load the communication. {describeError(q.error)}</p>;
  const view = q.data;
  const matrix = communicationMatrix(view, mode);
  const share = crossVmShare(view.latest);
  const vmCount = view.latest?.vms.length ?? 0;

  return (
    <section className="panel comm" aria-labelledby={`${name}-title`} data-testid="app-comm">
      <h2 className="panel__title" id={`${name}-title`}>
        Communication
      </h2>
      {!view.latest ? (
        <p className="placeholder placeholder--small" data-testid="app-comm-none">
          No sample yet: the worker measures its actors&apos; messages every few seconds while it runs.
        </p>
      ) : (
        <>
          <dl className="facts comm__facts">
            <div>
              <dt>Messages</dt>
              <dd data-testid="app-comm-total">{formatRate(view.latest.totalPerSecond)}</dd>
            </div>
            <div>
              <dt>Cross VMs</dt>
              <dd data-testid="app-comm-cross" data-share={share ?? ""}>
                {share === null ? "—" : `${percent(share)} · ${formatRate(view.latest.crossVmPerSecond)}`}
              </dd>
            </div>
            <div>
              <dt>Inside one VM</dt>
              <dd data-testid="app-comm-inside">
                {share === null
                  ? "—"
                  : `${percent(1 - share)} · ${formatRate(view.latest.totalPerSecond - view.latest.crossVmPerSecond)}`}
              </dd>
            </div>
            <div>
              <dt>Measured</dt>
              <dd>
                over {(view.latest.intervalMs / 1000).toFixed(1)} s to {formatTime(view.latest.at, now)}
              </dd>
            </div>
          </dl>
          <p className="comm__advice" data-testid="app-comm-advice">
            {splitAdvice(share, vmCount)}
          </p>
          {view.latest.resetActors > 0 && (
            <p className="muted comm__note" data-testid="app-comm-reset">
              {plural(view.latest.resetActors, "actor")} left out of this interval: counters restarted (restored from a checkpoint
              or new).
            </p>
          )}
          <fieldset className="comm__mode">
            <legend>Between</legend>
            {(
              [
                ["vm", "VMs"],
                ["group", "Actor groups"],
              ] as const
            ).map(([value, label]) => (
              <label key={value}>
                <input
                  type="radio"
                  name={`${name}-mode`}
                  value={value}
                  checked={mode === value}
                  onChange={() => setMode(value)}
                  data-testid={`app-comm-mode-${value}`}
                />{" "}
                {label}
              </label>
            ))}
          </fieldset>
          {matrix && <Heatmap matrix={matrix} mode={mode} />}
        </>
      )}
      <History view={view} now={now} />
    </section>
  );
}

function cellTitle(c: CommunicationMatrix["rows"][number][number]): string {
  return `${c.from.label} → ${c.to.label}: ${formatRate(c.perSecond)} (${percent(c.share)} of all)`;
}

function Heatmap({ matrix, mode }: { matrix: CommunicationMatrix; mode: CommunicationMode }) {
  const numbers = matrix.axis.length <= NUMBERS_UP_TO;
  const what = mode === "vm" ? "VM" : "actor group";
  const busiest = matrix.ranked[0];
  return (
    <>
      <figure className="comm__figure">
        <div
          className="heatmap"
          role="img"
          aria-label={`Messages per second between ${plural(matrix.axis.length, what)}, rows sending, columns receiving${
            busiest ? `; busiest: ${cellTitle(busiest)}` : ""
          }. The table below has every figure.`}
          data-testid="app-comm-heatmap"
          data-mode={mode}
          data-size={matrix.axis.length}
          style={{ gridTemplateColumns: `minmax(3.5em, max-content) repeat(${matrix.axis.length}, minmax(1.1em, 1fr))` }}
        >
          <span className="heatmap__corner">from ↓ to →</span>
          {matrix.axis.map((a) => (
            <span key={a.key} className="heatmap__head heatmap__head--col" title={a.label}>
              {mode === "vm" ? a.label : a.label.replace(/^actors? /, "")}
            </span>
          ))}
          {matrix.rows.map((row, i) => (
            <div className="heatmap__row" key={matrix.axis[i]!.key}>
              <span className="heatmap__head heatmap__head--row" title={matrix.axis[i]!.label}>
                {mode === "vm" ? matrix.axis[i]!.label : matrix.axis[i]!.label.replace(/^actors? /, "")}
              </span>
              {row.map((c) => (
                <span
                  key={c.to.key}
                  className={`heatmap__cell${c.crossesVms ? " heatmap__cell--cross" : ""}`}
                  style={{
                    backgroundColor: c.perSecond > 0 ? `rgba(37, 99, 235, ${(0.08 + 0.92 * c.intensity).toFixed(3)})` : undefined,
                  }}
                  title={cellTitle(c)}
                  data-testid={`app-comm-cell-${matrix.axis.indexOf(c.from)}-${matrix.axis.indexOf(c.to)}`}
                  data-rate={c.perSecond}
                >
                  {numbers && c.perSecond > 0 && (
                    <span className="heatmap__value">{Math.round(c.perSecond).toLocaleString("en-US")}</span>
                  )}
                </span>
              ))}
            </div>
          ))}
        </div>
        <figcaption className="muted">
          Rows send, columns receive; darker is busier{mode === "vm" ? "; outlined cells cross from one VM to another" : ""}.
        </figcaption>
      </figure>
      <details className="comm__table" data-testid="app-comm-table-toggle">
        <summary>As a table ({plural(matrix.ranked.length, "pair")})</summary>
        <table className="table table--compact table--stack" data-testid="app-comm-table">
          <caption className="sr-only">Messages per second between {what}s, busiest first</caption>
          <thead>
            <tr>
              <th scope="col">From</th>
              <th scope="col">To</th>
              <th scope="col" className="num">
                Messages / s
              </th>
              <th scope="col" className="num">
                Share
              </th>
              {mode === "vm" && <th scope="col">Path</th>}
            </tr>
          </thead>
          <tbody>
            {matrix.ranked.map((c) => (
              <tr key={`${c.from.key}-${c.to.key}`} data-testid="app-comm-row">
                <td data-label="From">{c.from.label}</td>
                <td data-label="To">{c.to.label}</td>
                <td data-label="Messages / s" className="num">
                  {formatRate(c.perSecond)}
                </td>
                <td data-label="Share" className="num">
                  {percent(c.share)}
                </td>
                {mode === "vm" && <td data-label="Path">{c.crossesVms ? "crosses VMs" : "inside the VM"}</td>}
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </>
  );
}

function History({ view, now }: { view: ApplicationCommunicationView; now: number }) {
  const messages = view.history.map((h) => ({ at: h.at, total: h.totalPerSecond, cross: h.crossVmPerSecond }));
  const changes = vmChanges(view);
  return (
    <div className="comm__history">
      <h3 className="comm__subtitle">Last 15 minutes</h3>
      <div className="comm__charts">
        <TimeChart
          title="Throughput (progress / s)"
          testId="app-chart-throughput"
          rows={view.throughput.map((p) => ({ at: p.at, rate: p.rate }))}
          lines={[{ key: "rate", name: "progress / s", color: "#2563eb" }]}
        />
        <TimeChart
          title="Messages (msg / s)"
          testId="app-chart-messages"
          rows={messages}
          lines={[
            { key: "total", name: "all", color: "#15803d" },
            { key: "cross", name: "cross VMs", color: "#b45309" },
          ]}
        />
      </div>
      <h3 className="comm__subtitle">VMs over time</h3>
      {changes.length === 0 ? (
        <p className="placeholder placeholder--small">No samples in this window.</p>
      ) : (
        <ol className="comm__vms" data-testid="app-comm-vms-over-time">
          {changes.map((c) => (
            <li key={c.at}>
              <time dateTime={new Date(c.at).toISOString()}>{formatTime(new Date(c.at), now)}</time>{" "}
              <strong>{plural(c.vms.length, "VM")}</strong>:{" "}
              {c.vms.map((v) => `${v.name} (${plural(v.actors, "actor")})`).join(", ")}
            </li>
          ))}
        </ol>
      )}
    </div>
  );
}

function TimeChart({
  title,
  testId,
  rows,
  lines,
}: {
  title: string;
  testId: string;
  rows: Record<string, number>[];
  lines: { key: string; name: string; color: string }[];
}) {
  return (
    <figure className="comm__chart" data-testid={testId} data-points={rows.length}>
      <figcaption className="comm__chart-title">{title}</figcaption>
      {rows.length < 2 ? (
        <p className="placeholder placeholder--small">Not enough samples yet.</p>
      ) : (
        <div
          className="chart__body comm__chart-body"
          role="img"
          aria-label={`${title} over the last 15 minutes (${zoneLabel()})`}
        >
          <ResponsiveContainer width="100%" height="100%">
            <LineChart data={rows} margin={{ top: 8, right: 12, bottom: 4, left: 0 }}>
              <CartesianGrid strokeDasharray="3 3" />
              <XAxis dataKey="at" type="number" domain={["dataMin", "dataMax"]} tickFormatter={clock} scale="time" />
              <YAxis width={44} />
              <Tooltip labelFormatter={(v) => clock(Number(v))} formatter={(v) => Number(v).toFixed(1)} />
              <Legend />
              {lines.map((l) => (
                <Line key={l.key} dataKey={l.key} name={l.name} stroke={l.color} dot={false} isAnimationActive={false} />
              ))}
            </LineChart>
          </ResponsiveContainer>
        </div>
      )}
    </figure>
  );
}
