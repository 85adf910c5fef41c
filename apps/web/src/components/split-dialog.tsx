"use client";

import { defaultSplitTargets, previewSplit, type TransferMode } from "@malleo/core";
import { useMutation } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { useRef, useState } from "react";
import { formatMiB, plural } from "../lib/format";
import { divisionText, hostChoiceLabel, unchoosableNote } from "../lib/placement-text";
import { keyKeeper, sendOnce } from "../lib/send-once";
import { useTRPCClient } from "../trpc/react";
import type { TopologyApplication, TopologyHost, TopologyVm } from "../trpc/types";
import { FormOutcome } from "./form-outcome";
import { Modal } from "./modal";
import { PlanPreview } from "./plan-preview";
import { TransferModeChoice } from "./transfer-mode";

export function SplitDialog({
  source,
  hosts,
  application,
  onClose,
}: {
  source: TopologyVm;
  hosts: TopologyHost[];
  application: TopologyApplication | undefined;
  onClose: () => void;
}) {
  const client = useTRPCClient();
  const router = useRouter();
  const keys = useRef(keyKeeper()).current;
  const maxCount = Math.max(2, source.vcpus);
  const [count, setCount] = useState(2);
  const [transfer, setTransfer] = useState<TransferMode>("live");
  const [targets, setTargets] = useState<string[]>(() => defaultSplitTargets(hosts, source, 2));
  // Sent once, now or never: no retry, and no waiting for the browser to come back online.
  const split = useMutation({
    mutationFn: (input: { vmId: string; count: number; targetHostIds: string[]; transfer: TransferMode }) =>
      sendOnce(keys.guardFor(input), (guard, signal) => client.operations.split.mutate({ ...input, ...guard }, { signal })),
    networkMode: "always",
    retry: false,
    onSuccess: (op) => {
      keys.done();
      router.push(`/operations/${op.id}`);
    },
  });

  // The server's own rules (@malleo/core): each target's share, the hosts after, every refusal.
  const preview = previewSplit({ hosts, source, targetHostIds: targets, application });
  const problems = preview.problems.map((p) => p.message);
  const notOffered = unchoosableNote(preview.choices[0] ?? []);

  const changeCount = (n: number) => {
    setCount(n);
    setTargets(defaultSplitTargets(hosts, source, n));
  };

  return (
    <Modal
      title={`Split ${source.name}`}
      onClose={onClose}
      testId="split-dialog"
      footer={
        <>
          <button type="button" className="button button--ghost" onClick={onClose}>
            Cancel
          </button>
          <button
            type="button"
            className="button button--primary"
            data-testid="split-submit"
            disabled={problems.length > 0 || split.isPending}
            onClick={() => split.mutate({ vmId: source.id, count, targetHostIds: targets, transfer })}
          >
            {split.isPending ? "Submitting…" : `Split into ${count} VMs`}
          </button>
        </>
      }
    >
      <p className="muted">
        {source.name} on {source.hostId}: {source.vcpus} vCPU · {formatMiB(source.memoryMiB)} ·{" "}
        {plural(source.actorCount, "actor")}. {divisionText(source, preview)} Actors move in contiguous runs, so neighbours stay
        together.
      </p>

      <label className="field">
        <span className="field__label">Number of new VMs</span>
        <select data-testid="split-count" value={count} onChange={(e) => changeCount(Number(e.target.value))}>
          {Array.from({ length: maxCount - 1 }, (_, i) => i + 2).map((n) => (
            <option key={n} value={n}>
              {n}
            </option>
          ))}
        </select>
      </label>

      <table className="table table--compact">
        <thead>
          <tr>
            <th>New VM</th>
            <th>Target host</th>
            <th className="num">vCPU</th>
            <th className="num">Memory</th>
            <th className="num">Actors</th>
          </tr>
        </thead>
        <tbody>
          {targets.map((hostId, i) => (
            <tr key={i}>
              <td>#{i + 1}</td>
              <td>
                <select
                  data-testid={`split-target-${i}`}
                  aria-label={`Target host for new VM ${i + 1}`}
                  value={hostId}
                  onChange={(e) => setTargets((t) => t.map((h, j) => (j === i ? e.target.value : h)))}
                >
                  {(preview.choices[i] ?? []).map((c) => (
                    <option key={c.hostId} value={c.hostId} disabled={!c.choosable && c.hostId !== hostId}>
                      {hostChoiceLabel(c)}
                    </option>
                  ))}
                </select>
              </td>
              <td className="num">{preview.division ? preview.targets[i]!.vcpus : "—"}</td>
              <td className="num">{preview.division ? formatMiB(preview.targets[i]!.memoryMiB) : "—"}</td>
              <td className="num">{preview.targets[i]?.actors ?? 0}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {notOffered && (
        <p className="muted" data-testid="split-unchoosable">
          {notOffered}
        </p>
      )}

      <TransferModeChoice name="split" value={transfer} onChange={setTransfer} />

      {problems.length === 0 && <PlanPreview preview={preview} labels={targets.map((_, i) => `#${i + 1}`)} transfer={transfer} />}

      <FormOutcome problems={problems} error={split.error} testIdPrefix="split" />
    </Modal>
  );
}
