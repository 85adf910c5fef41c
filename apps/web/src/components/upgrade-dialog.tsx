"use client";

import { useMutation } from "@tanstack/react-query";
import { useRef, useState } from "react";
import { keyKeeper, sendOnce } from "../lib/send-once";
import { upgradeStateNote, upgradeStateReadable, type BundleStateFormat } from "../lib/upgrade";
import { useTRPCClient } from "../trpc/react";
import { FormOutcome } from "./form-outcome";
import { Modal } from "./modal";

export interface AcceptedUpgrade {
  id: string;
  kind: "upgrade";
  version: string;
}

/**
 * Upgrade a running bundle application to another registered version of its kind: what it does,
 * each version's state format against the running one's, and the server's refusal in plain view.
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
  // Sent once, now or never: no retry, and no waiting for the browser to come back online.
  const upgrade = useMutation({
    mutationFn: (input: { applicationId: string; version: string }) =>
      sendOnce(keys.guardFor(input), (guard, signal) => client.applications.upgrade.mutate({ ...input, ...guard }, { signal })),
    networkMode: "always",
    retry: false,
    onSuccess: (op) => {
      keys.done();
      onAccepted(op);
    },
  });
  const from = formats.get(running);
  const to = formats.get(version);
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
            onClick={() => upgrade.mutate({ applicationId, version })}
          >
            {upgrade.isPending ? "Submitting…" : `Upgrade to ${version}`}
          </button>
        </>
      }
    >
      <p>
        {applicationId} runs {kind} <strong data-testid="upgrade-running">{running}</strong>. An upgrade takes a fresh checkpoint,
        then restarts the whole application at once — every theater, every actor, not VM by VM — on the new version, each actor
        restored from that checkpoint; its states are migrated by the new version&apos;s migrateState when the state format
        changed. It holds while it restarts and continues from the checkpoint, so nothing it computed is lost; a restart that
        fails goes back to {running} from the same checkpoint.
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
