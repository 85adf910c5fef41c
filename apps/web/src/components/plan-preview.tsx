"use client";

import { expectedPause, type PauseEstimate } from "@malleo/api/pause-estimate";
import type { PlacementPreview, TransferMode } from "@malleo/core";
import { useQuery } from "@tanstack/react-query";
import { formatBytes, formatDuration, formatMiB } from "../lib/format";
import { useTRPC } from "../trpc/react";
import { TRANSFER_LABELS } from "./transfer-mode";

/**
 * The plan preview shown before confirming: each host's quota and capacity after the operation,
 * the bytes each target receives and the expected pause in the chosen transfer mode (and in the
 * other, for comparison), from the speed past operations measured.
 */
export function PlanPreview({
  preview,
  labels,
  transfer,
}: {
  /** From @malleo/core's previewSplit / previewMerge. */
  preview: PlacementPreview;
  /** One per target: "#1", "merged VM". */
  labels: string[];
  transfer: TransferMode;
}) {
  const trpc = useTRPC();
  // Each opened dialog asks again: the operation that just finished may have measured a transfer.
  const estimates = useQuery({ ...trpc.operations.estimates.queryOptions(), staleTime: 0 });
  const e = estimates.data;
  const targets = preview.targets.map((t, i) => ({ ...t, label: labels[i] ?? `#${i + 1}` }));
  const actors = targets.reduce((s, t) => s + t.actors, 0);
  const pause = expectedPause(e, actors, transfer);
  const other = expectedPause(e, actors, transfer === "live" ? "barrier" : "live");
  const after = preview.hostsAfter;
  const perActor = e?.bytesPerActor ?? null;

  return (
    <div className="preview" data-testid="plan-preview">
      <h3 className="panel__subtitle">Each target receives</h3>
      <table className="table table--compact table--stack">
        <thead>
          <tr>
            <th>New VM</th>
            <th>Host</th>
            <th className="num">vCPU</th>
            <th className="num">Memory</th>
            <th className="num">Actors</th>
            <th className="num">Bytes</th>
          </tr>
        </thead>
        <tbody>
          {targets.map((t) => (
            <tr key={t.label} data-testid="preview-target" data-actors={t.actors}>
              <td data-label="New VM">{t.label}</td>
              <td data-label="Host">{t.hostId}</td>
              <td data-label="vCPU" className="num">
                {t.vcpus}
              </td>
              <td data-label="Memory" className="num">
                {formatMiB(t.memoryMiB)}
              </td>
              <td data-label="Actors" className="num">
                {t.actors}
              </td>
              <td data-label="Bytes" className="num">
                {perActor === null ? "—" : `≈ ${formatBytes(t.actors * perActor)}`}
              </td>
            </tr>
          ))}
        </tbody>
      </table>

      <h3 className="panel__subtitle">Hosts after the operation</h3>
      <table className="table table--compact table--stack" data-testid="preview-hosts">
        <thead>
          <tr>
            <th>Host</th>
            <th className="num">VM slots</th>
            <th className="num">vCPUs</th>
            <th className="num">Memory</th>
          </tr>
        </thead>
        <tbody>
          {after.map((h) => (
            <tr key={h.hostId} data-testid={`preview-host-${h.hostId}`} data-slots={h.slots}>
              <td data-label="Host">{h.hostId}</td>
              <td data-label="VM slots" className={`num${h.slots > h.vmQuota ? " over" : ""}`}>
                {h.slots} / {h.vmQuota}
              </td>
              <td data-label="vCPUs" className={`num${h.vcpus > h.limitVcpus ? " over" : ""}`}>
                {h.vcpus} / {h.limitVcpus}
              </td>
              <td data-label="Memory" className={`num${h.memoryMiB > h.limitMemoryMiB ? " over" : ""}`}>
                {formatMiB(h.memoryMiB)} / {formatMiB(h.limitMemoryMiB)}
              </td>
            </tr>
          ))}
        </tbody>
      </table>

      <p className="preview__pause" data-testid="preview-pause" data-mode={transfer}>
        Expected pause ({TRANSFER_LABELS[transfer].toLowerCase()}):{" "}
        {pause === null ? (
          <span className="muted">not measured yet — the first split or merge measures the migration speed</span>
        ) : (
          <>
            <strong data-testid="preview-pause-ms" data-ms={Math.round(pause.pauseMs)}>
              ≈ {formatDuration(pause.pauseMs)}
            </strong>{" "}
            {pauseScope(pause)}{" "}
            <span className="muted">
              (from {e!.samples} past {e!.samples === 1 ? "operation" : "operations"}
              {e!.bytesPerSecond ? `, transfer at ${formatBytes(e!.bytesPerSecond)}/s` : ""})
            </span>
          </>
        )}
      </p>
      {other && (
        <p className="preview__pause-other muted" data-testid="preview-pause-other" data-mode={other.mode}>
          {TRANSFER_LABELS[other.mode]} instead: ≈ {formatDuration(other.pauseMs)} {pauseScope(other)}
        </p>
      )}
    </div>
  );
}

function pauseScope(p: PauseEstimate): string {
  return p.scope === "each actor" ? "for each actor, while it moves; the others keep running" : "for all actors together";
}
