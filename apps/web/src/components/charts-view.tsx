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
  ReferenceLine,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from "recharts";
import { pivot, stepRowsByOperation } from "../lib/chart-data";
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
            <LineChart data={rows}>
              <CartesianGrid strokeDasharray="3 3" />
              <XAxis dataKey="at" type="number" domain={["dataMin", "dataMax"]} tickFormatter={clock} scale="time" />
              <YAxis />
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
              {q.data?.markers.map((m) => (
                <ReferenceLine
                  key={m.operationId}
                  x={m.at}
                  stroke={m.kind === "split" ? "#7c3aed" : "#0e7490"}
                  strokeDasharray="4 2"
                  label={{ value: `${m.kind} (${m.operator})`, position: "insideTopLeft", fontSize: 11 }}
                />
              ))}
            </LineChart>
          </ResponsiveContainer>
        </div>
      )}
    </ChartPanel>
  );
}

function CpuChart({ minutes }: { minutes: number }) {
  const trpc = useTRPC();
  const q = useQuery({ ...trpc.charts.cpu.queryOptions({ minutes }), refetchInterval: 5000 });
  if (q.isError) return <p className="callout callout--bad">{describeError(q.error)}</p>;
  const names = new Map(q.data?.vms.map((v) => [v.id, v.name]));
  const { rows, keys } = pivot(
    q.data?.samples ?? [],
    (s) => Math.round(s.at.getTime() / 1000) * 1000,
    (s) => names.get(s.vmId) ?? s.vmId.slice(0, 8),
    (s) => s.cpuPercent,
  );
  return (
    <ChartPanel title="CPU usage per VM (%)" testId="chart-cpu">
      {rows.length === 0 ? (
        <p className="placeholder placeholder--small" data-testid="cpu-no-samples">
          No samples yet: the worker records CPU usage per VM once its sampler runs.
        </p>
      ) : (
        <div className="chart__body" data-points={rows.length}>
          <ResponsiveContainer width="100%" height="100%">
            <LineChart data={rows}>
              <CartesianGrid strokeDasharray="3 3" />
              <XAxis dataKey="at" type="number" domain={["dataMin", "dataMax"]} tickFormatter={clock} scale="time" />
              <YAxis domain={[0, "auto"]} />
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
        <div className="chart__body" data-operations={rows.length}>
          <ResponsiveContainer width="100%" height="100%">
            <BarChart data={rows}>
              <CartesianGrid strokeDasharray="3 3" />
              <XAxis dataKey="op" />
              <YAxis />
              <Tooltip formatter={(v) => `${Number(v).toFixed(2)} s`} />
              <Legend />
              {names.map((n) => (
                <Bar key={n} dataKey={n} stackId="steps" fill={STEP_COLORS[n] ?? "#64748b"} isAnimationActive={false} />
              ))}
            </BarChart>
          </ResponsiveContainer>
        </div>
      )}
    </ChartPanel>
  );
}
