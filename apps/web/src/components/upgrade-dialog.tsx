"use client";

import { useMutation } from "@tanstack/react-query";
import { useRef, useState } from "react";
import { keyKeeper, sendOnce } from "../lib/send-once";
import type { UpgradeStrategy } from "@malleo/core";
import {
  upgradeStateNote,
  upgradeStateReadable,
  upgradeStrategies,
  upgradeStrategyText,
  type BundleStateFormat,
} from "../lib/upgrade";
import { useTRPCClient } from "../trpc/react";
import { FormOutcome } from "./form-outcome";
import { Modal } from "./modal";

export interface AcceptedUpgrade {
  id: string;
  kind: "upgrade";
  version: string;
  strategy: UpgradeStrategy;
}

/**
 * Upgrade a running bundle application to another registered version of its kind: rolling or a
 * restart (what each does, rolling offered only for the same state format, saying why not), each
 * version's state format against the running one's, and the server's refusal in plain view.
 * Sent once with an idempotency key and a deadline, like a split; once accepted the dialog closes
 * and the application page follows the operation.
 */
export function UpgradeDialog({
  applicationId,
  kind,
  running,
  versions,
  formats,
  onAccepted,
  onClose,
}: {
  applicationId: string;
  kind: string;
  running: string;
  /** The versions offered, newest first (never the running one). */
  versions: readonly string[];
  /** The kind's registered versions' state formats, by version. */
  formats: ReadonlyMap<string, BundleStateFormat>;
  onAccepted: (op: AcceptedUpgrade) => void;
  onClose: () => void;
}) {
  const client = useTRPCClient();
  const keys = useRef(keyKeeper()).current;
  const [version, setVersion] = useState(versions[0] ?? "");
  const from = formats.get(running);
  const to = formats.get(version);
  const { preferred, rollingRefusal } = upgradeStrategies(from, to);
  // The operator's choice, kept while it is possible; otherwise what the formats allow.
  const [chosen, setChosen] = useState<UpgradeStrategy | null>(null);
  const strategy: UpgradeStrategy = chosen === "rolling" && rollingRefusal ? "restart" : (chosen ?? preferred);
  // Sent once, now or never: no retry, and no waiting for the browser to come back online.
  const upgrade = useMutation({
    mutationFn: (input: { applicationId: string; version: string; strategy: UpgradeStrategy }) =>
      sendOnce(keys.guardFor(input), (guard, signal) => client.applications.upgrade.mutate({ ...input, ...guard }, { signal })),
    networkMode: "always",
    retry: false,
    onSuccess: (op) => {
      keys.done();
      onAccepted(op);
    },
  });
  const note = upgradeStateNote(from, to);

  return (
    <Modal
      title={`Upgrade ${applicationId}`}
      onClose={onClose}
      testId="upgrade-dialog"
      footer={
        <>
          <button type="button" className="button button--ghost" onClick={onClose}>
            Cancel
          </button>
          <button
            type="button"
            className="button button--primary"
            data-testid="upgrade-submit"
            disabled={version === "" || upgrade.isPending}
            onClick={() => upgrade.mutate({ applicationId, version, strategy })}
          >
            {upgrade.isPending ? "Submitting…" : `Upgrade to ${version}`}
          </button>
        </>
      }
    >
      <p>
        {applicationId} runs {kind} <strong data-testid="upgrade-running">{running}</strong>.
      </p>

      <label className="field">
        <span className="field__label">Version to run</span>
        <select
          data-testid="upgrade-version"
          value={version}
          onChange={(e) => {
            setVersion(e.target.value);
            upgrade.reset();
          }}
        >
          {versions.map((v) => {
            const f = formats.get(v);
            return (
              <option key={v} value={v}>
                {v}
                {f ? ` · state format ${f.stateVersion}${f.migratesState ? ", migrates older states" : ""}` : ""}
              </option>
            );
          })}
        </select>
      </label>

      <fieldset className="transfer-mode" data-testid="upgrade-strategy" data-strategy={strategy}>
        <legend className="field__label">How</legend>
        {(["rolling", "restart"] as const).map((s) => (
          <label key={s} className={`transfer-mode__option${strategy === s ? " transfer-mode__option--on" : ""}`}>
            <input
              type="radio"
              name="upgrade-strategy"
              value={s}
              data-testid={`upgrade-strategy-${s}`}
              checked={strategy === s}
              disabled={s === "rolling" && rollingRefusal !== null}
              onChange={() => {
                setChosen(s);
                upgrade.reset();
              }}
            />
            <span>
              <strong>{s === "rolling" ? "Rolling" : "Restart"}</strong>:{" "}
              {s === "rolling" ? "new VMs on the new version, each actor moved live" : "the whole application, from a checkpoint"}
            </span>
          </label>
        ))}
        {rollingRefusal && (
          <p className="muted" data-testid="upgrade-rolling-refusal">
            Rolling is not offered: {rollingRefusal}.
          </p>
        )}
      </fieldset>
      <p data-testid="upgrade-strategy-text">{upgradeStrategyText(strategy, running)}</p>

      {note && (
        <p
          className={upgradeStateReadable(from, to) ? "muted" : "callout callout--warn"}
          data-testid="upgrade-state-note"
          data-readable={upgradeStateReadable(from, to)}
        >
          {note}
        </p>
      )}

      <FormOutcome problems={[]} error={upgrade.error} testIdPrefix="upgrade" />
    </Modal>
  );
}
