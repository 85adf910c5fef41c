"use client";

import { defaultMergeTarget, mergeBlocker, previewMerge, type TransferMode } from "@malleo/core";
import { useMutation } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { useRef, useState } from "react";
import { formatMiB, plural } from "../lib/format";
import { hostChoiceLabel, unchoosableNote } from "../lib/placement-text";
import { keyKeeper, sendOnce } from "../lib/send-once";
import { useTRPCClient } from "../trpc/react";
import type { TopologyApplication, TopologyHost } from "../trpc/types";
import { FormOutcome } from "./form-outcome";
import { Modal } from "./modal";
import { PlanPreview } from "./plan-preview";
import { TransferModeChoice } from "./transfer-mode";

export function MergeDialog({
  hosts,
  applications: known,
  onClose,
  initialVmIds = [],
}: {
  hosts: TopologyHost[];
  applications: readonly TopologyApplication[];
  onClose: () => void;
  /** Ticked when it opens (a VM's actions menu opens it with that VM chosen). */
  initialVmIds?: readonly string[];
}) {
  const client = useTRPCClient();
  const router = useRouter();
  const keys = useRef(keyKeeper()).current;
  const vms = hosts.flatMap((h) => h.vms);
  const [selected, setSelected] = useState<string[]>(() => [...initialVmIds]);
  // null: follow the suggestion as the selection changes; a host id once the person picks one.
  const [chosenTarget, setChosenTarget] = useState<string | null>(null);
  const [transfer, setTransfer] = useState<TransferMode>("live");
  // Sent once, now or never: no retry, and no waiting for the browser to come back online.
  const merge = useMutation({
    mutationFn: (input: { vmIds: string[]; targetHostId: string; transfer: TransferMode }) =>
      sendOnce(keys.guardFor(input), (guard, signal) => client.operations.merge.mutate({ ...input, ...guard }, { signal })),
    networkMode: "always",
    retry: false,
    onSuccess: (op) => {
      keys.done();
      router.push(`/operations/${op.id}`);
    },
  });

  const sources = selected.map((id) => vms.find((v) => v.id === id)).filter((v) => v !== undefined);
  const targetHostId = chosenTarget ?? defaultMergeTarget(hosts, sources);
  // The server's own rules (@malleo/core): the merged VM, the hosts after, every refusal.
  const application = known.find((a) => a.id === sources[0]?.applicationId);
  const preview = previewMerge({ hosts, sources, targetHostId, application });
  const problems = preview.problems.map((p) => p.message);
  const notOffered = unchoosableNote(preview.choices[0] ?? []);
  const merged = preview.targets[0]!;
  const applications = [...new Set(vms.map((v) => v.applicationId))].sort();

  const toggle = (id: string, on: boolean) => setSelected((s) => (on ? [...s, id] : s.filter((x) => x !== id)));

  return (
    <Modal
      title="Merge VMs"
      onClose={onClose}
      testId="merge-dialog"
      footer={
        <>
          <button type="button" className="button button--ghost" onClick={onClose}>
            Cancel
          </button>
          <button
            type="button"
            className="button button--primary"
            data-testid="merge-submit"
            disabled={problems.length > 0 || merge.isPending}
            onClick={() => merge.mutate({ vmIds: selected, targetHostId, transfer })}
          >
            {merge.isPending ? "Submitting…" : sources.length >= 2 ? `Merge ${sources.length} VMs` : "Merge"}
          </button>
        </>
      }
    >
      <p className="muted">
        Choose two or more VMs of one application. The new VM holds their combined vCPUs, memory and actors.
      </p>

      {applications.map((app) => (
        <fieldset key={app} className="checklist">
          <legend>{app}</legend>
          {vms
            .filter((v) => v.applicationId === app)
            .map((vm) => {
              const blocker =
                mergeBlocker(
                  vm,
                  known.find((a) => a.id === vm.applicationId),
                )?.message ?? null;
              return (
                <label
                  key={vm.id}
                  className={`checklist__item${blocker ? " checklist__item--disabled" : ""}`}
                  title={blocker ?? undefined}
                >
                  <input
                    type="checkbox"
                    data-testid={`merge-vm-${vm.name}`}
                    checked={selected.includes(vm.id)}
                    disabled={blocker !== null}
                    onChange={(e) => toggle(vm.id, e.target.checked)}
                  />
                  <span className="mono">{vm.name}</span>
                  <span className="muted">
                    on {vm.hostId} · {vm.vcpus} vCPU · {formatMiB(vm.memoryMiB)} · {plural(vm.actorCount, "actor")}
                  </span>
                  {blocker && (
                    <span className="muted">
                      {" "}
                      — {vm.lockedBy ? "locked" : vm.state === "running" ? "application degraded" : vm.state}
                    </span>
                  )}
                </label>
              );
            })}
        </fieldset>
      ))}

      <label className="field">
        <span className="field__label">Target host</span>
        <select data-testid="merge-target" value={targetHostId} onChange={(e) => setChosenTarget(e.target.value)}>
          {(preview.choices[0] ?? []).map((c) => (
            <option key={c.hostId} value={c.hostId} disabled={!c.choosable && c.hostId !== targetHostId}>
              {hostChoiceLabel(c)}
            </option>
          ))}
        </select>
      </label>
      {notOffered && (
        <p className="muted" data-testid="merge-unchoosable">
          {notOffered}
        </p>
      )}

      <TransferModeChoice name="merge" value={transfer} onChange={setTransfer} />

      <p className="summary" data-testid="merge-summary">
        Result: <strong>{merged.vcpus} vCPU</strong> · <strong>{formatMiB(merged.memoryMiB)}</strong> ·{" "}
        <strong>{plural(merged.actors, "actor")}</strong> on <strong>{targetHostId || "—"}</strong>
      </p>

      {problems.length === 0 && <PlanPreview preview={preview} labels={["merged VM"]} transfer={transfer} />}

      <FormOutcome problems={problems} error={merge.error} testIdPrefix="merge" />
    </Modal>
  );
}
