"use client";

import { useQuery } from "@tanstack/react-query";
import { useState, type ReactNode } from "react";
import {
  Bar,
  BarChart,
  CartesianGrid,
  Legend,
  Line,
  LineChart,
  ReferenceArea,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from "recharts";
import { STEP_LABELS } from "@malleo/core";
import { operationSpans, OUTCOME_COLORS, pivot, stepRowsByOperation, type OperationSpan } from "../lib/chart-data";
import { zoneLabel } from "../lib/format";
import { describeError } from "../lib/errors";
import { useTRPC } from "../trpc/react";

const COLORS = ["#2563eb", "#15803d", "#b45309", "#b91c1c", "#7c3aed", "#0e7490", "#be185d", "#4d7c0f"];
const STEP_COLORS: Record<string, string> = {
  validate: "#94a3b8",
  ready: "#2563eb",
  provision: "#7c3aed",
  transfer: "#b45309",
  resume: "#15803d",
  cleanup: "#0e7490",
  rollback: "#b91c1c",
};
const clock = (ms: number) => new Date(ms).toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit", second: "2-digit" });

/** The operations of the window as shaded spans, each labelled on its own line; shared by both time charts. */
function useOperationSpans(minutes: number): OperationSpan[] {
  const trpc = useTRPC();
  const q = useQuery({ ...trpc.charts.throughput.queryOptions({ minutes }), refetchInterval: 5000 });
  // A label takes about a tenth of the window's width.
  return operationSpans(q.data?.markers ?? [], Date.now(), (minutes * 60_000) / 10);
}

function spanAreas(spans: OperationSpan[], labelled: boolean) {
  return spans.map((m) => (
    <ReferenceArea
      key={m.operationId}
      x1={m.x1}
      x2={m.x2}
      fill={m.color}
      fillOpacity={0.14}
      stroke={m.color}
      strokeOpacity={0.6}
      ifOverflow="extendDomain"
      label={labelled ? { value: m.label, position: "insideTopLeft", fontSize: 11, fill: m.color, dy: m.lane * 14 } : undefined}
    />
  ));
}

function OutcomeKey() {
  return (
    <p className="chart__key muted">
      Operations are shaded from start to finish:{" "}
      {Object.entries({ ...OUTCOME_COLORS, running: "#2563eb" }).map(([status, color]) => (
        <span key={status} className="chart__swatch">
          <span aria-hidden style={{ background: color }} /> {status.replace("_", " ")}
        </span>
      ))}
    </p>
  );
}

const axisTime = () => `time (${zoneLabel()})`;

export function ChartsView() {
  const [minutes, setMinutes] = useState(30);
  return (
    <>
      <div className="page-head">
        <div>
          <h1>Charts</h1>
          <p className="muted">
            CPU per VM, application throughput with every split and merge marked, and where operations spend their time.
          </p>
        </div>
        <label className="field field--inline">
          <span className="field__label">Window</span>
          <select data-testid="charts-window" value={minutes} onChange={(e) => setMinutes(Number(e.target.value))}>
            {[5, 15, 30, 60, 180, 720, 1440].map((m) => (
              <option key={m} value={m}>
                last {m < 60 ? `${m} min` : `${m / 60} h`}
              </option>
            ))}
          </select>
        </label>
      </div>
      <ThroughputChart minutes={minutes} />
      <CpuChart minutes={minutes} />
      <StepDurationChart />
    </>
  );
}

function ChartPanel({ title, testId, children }: { title: string; testId: string; children: ReactNode }) {
  return (
    <section className="panel chart" aria-label={title} data-testid={testId}>
      <h2 className="panel__title">{title}</h2>
      {children}
    </section>
  );
}

function ThroughputChart({ minutes }: { minutes: number }) {
  const trpc = useTRPC();
  const q = useQuery({ ...trpc.charts.throughput.queryOptions({ minutes }), refetchInterval: 5000 });
  if (q.isError) return <p className="callout callout--bad">{describeError(q.error)}</p>;
  const series = q.data?.series ?? [];
  const spans = useOperationSpans(minutes);
  const { rows, keys } = pivot(
    series.flatMap((s) => s.points.map((p) => ({ ...p, app: s.applicationId }))),
    (p) => p.at,
    (p) => p.app,
    (p) => p.rate,
  );
  return (
    <ChartPanel title="Application throughput (iterations / s)" testId="chart-throughput">
      {rows.length === 0 ? (
        <p className="placeholder placeholder--small">No progress samples in this window yet.</p>
      ) : (
        <div className="chart__body" data-points={rows.length} data-markers={q.data?.markers.length ?? 0}>
          <ResponsiveContainer width="100%" height="100%">
            <LineChart data={rows} margin={{ top: 8, right: 12, bottom: 16, left: 4 }}>
              <CartesianGrid strokeDasharray="3 3" />
              <XAxis
                dataKey="at"
                type="number"
                domain={["dataMin", "dataMax"]}
                tickFormatter={clock}
                scale="time"
                label={{ value: axisTime(), position: "insideBottom", offset: -10, fontSize: 11 }}
              />
              <YAxis label={{ value: "iterations / s", angle: -90, position: "insideLeft", fontSize: 11 }} />
              <Tooltip labelFormatter={(v) => clock(Number(v))} formatter={(v) => Number(v).toFixed(1)} />
              <Legend />
              {keys.map((k, i) => (
                <Line
                  key={k}
                  dataKey={k}
                  name={`${k} it/s`}
                  stroke={COLORS[i % COLORS.length]}
                  dot={false}
                  isAnimationActive={false}
                />
              ))}
              {spanAreas(spans, true)}
            </LineChart>
          </ResponsiveContainer>
        </div>
      )}
      {spans.length > 0 && <OutcomeKey />}
    </ChartPanel>
  );
}

function CpuChart({ minutes }: { minutes: number }) {
  const trpc = useTRPC();
  const q = useQuery({ ...trpc.charts.cpu.queryOptions({ minutes }), refetchInterval: 5000 });
  if (q.isError) return <p className="callout callout--bad">{describeError(q.error)}</p>;
  const spans = useOperationSpans(minutes);
  const [showDestroyed, setShowDestroyed] = useState(false);
  const names = new Map(q.data?.vms.map((v) => [v.id, v.name]));
  const destroyed = new Set(q.data?.vms.filter((v) => v.deleted).map((v) => v.id));
  const { rows, keys } = pivot(
    (q.data?.samples ?? []).filter((s) => showDestroyed || !destroyed.has(s.vmId)),
    (s) => Math.round(s.at.getTime() / 1000) * 1000,
    (s) => names.get(s.vmId) ?? s.vmId.slice(0, 8),
    (s) => s.cpuPercent,
  );
  return (
    <ChartPanel title="CPU usage per VM (%)" testId="chart-cpu">
      {destroyed.size > 0 && (
        <label className="chart__toggle">
          <input
            type="checkbox"
            data-testid="cpu-show-destroyed"
            checked={showDestroyed}
            onChange={(e) => setShowDestroyed(e.target.checked)}
          />{" "}
          show the {destroyed.size} VMs destroyed in this window
        </label>
      )}
      {rows.length === 0 ? (
        <p className="placeholder placeholder--small" data-testid="cpu-no-samples">
          No samples yet: the worker records CPU usage per VM once its sampler runs.
        </p>
      ) : (
        <div className="chart__body" data-points={rows.length} data-series={keys.length} data-markers={spans.length}>
          <ResponsiveContainer width="100%" height="100%">
            <LineChart data={rows} margin={{ top: 8, right: 12, bottom: 16, left: 4 }}>
              <CartesianGrid strokeDasharray="3 3" />
              <XAxis
                dataKey="at"
                type="number"
                domain={["dataMin", "dataMax"]}
                tickFormatter={clock}
                scale="time"
                label={{ value: axisTime(), position: "insideBottom", offset: -10, fontSize: 11 }}
              />
              <YAxis domain={[0, "auto"]} unit="%" />
              {spanAreas(spans, false)}
              <Tooltip labelFormatter={(v) => clock(Number(v))} formatter={(v) => `${Number(v).toFixed(1)} %`} />
              <Legend />
              {keys.map((k, i) => (
                <Line key={k} dataKey={k} stroke={COLORS[i % COLORS.length]} dot={false} connectNulls isAnimationActive={false} />
              ))}
            </LineChart>
          </ResponsiveContainer>
        </div>
      )}
    </ChartPanel>
  );
}

function StepDurationChart() {
  const trpc = useTRPC();
  const q = useQuery({ ...trpc.charts.stepDurations.queryOptions({ limit: 30 }), refetchInterval: 10_000 });
  if (q.isError) return <p className="callout callout--bad">{describeError(q.error)}</p>;
  const { rows, names } = stepRowsByOperation(q.data ?? []);
  return (
    <ChartPanel title="Operation duration by step (s), last 30 operations" testId="chart-steps">
      {rows.length === 0 ? (
        <p className="placeholder placeholder--small">No finished steps yet.</p>
      ) : (
        <div className="chart__body" data-operations={rows.length} data-steps={names.join(" ")}>
          <ResponsiveContainer width="100%" height="100%">
            <BarChart data={rows}>
              <CartesianGrid strokeDasharray="3 3" />
              <XAxis dataKey="op" />
              <YAxis unit=" s" />
              <Tooltip formatter={(v) => `${Number(v).toFixed(2)} s`} />
              <Legend />
              {names.map((n) => (
                <Bar
                  key={n}
                  dataKey={n}
                  name={(STEP_LABELS as Record<string, string>)[n] ?? n}
                  stackId="steps"
                  fill={STEP_COLORS[n] ?? "#64748b"}
                  isAnimationActive={false}
                />
              ))}
            </BarChart>
          </ResponsiveContainer>
        </div>
      )}
    </ChartPanel>
  );
}
