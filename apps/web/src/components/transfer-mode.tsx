"use client";

import { TRANSFER_MODES, type TransferMode } from "@malleo/core";

export const TRANSFER_LABELS: Record<TransferMode, string> = { live: "Live", barrier: "Barrier" };

export const TRANSFER_EXPLANATIONS: Record<TransferMode, string> = {
  live: "each actor pauses only while it moves",
  barrier: "all actors pause together for a consistent cut",
};

/** The transfer mode of a split or merge: one radio per mode, each with what it means for the application. */
export function TransferModeChoice({
  value,
  onChange,
  name,
}: {
  value: TransferMode;
  onChange: (mode: TransferMode) => void;
  /** "split" or "merge": the radio group's name and the prefix of its test ids. */
  name: string;
}) {
  return (
    <fieldset className="transfer-mode" data-testid={`${name}-transfer`} data-mode={value}>
      <legend className="field__label">Transfer</legend>
      {TRANSFER_MODES.map((mode) => (
        <label key={mode} className={`transfer-mode__option${value === mode ? " transfer-mode__option--on" : ""}`}>
          <input
            type="radio"
            name={`${name}-transfer`}
            value={mode}
            checked={value === mode}
            data-testid={`${name}-transfer-${mode}`}
            onChange={() => onChange(mode)}
          />
          <span>
            <strong>{TRANSFER_LABELS[mode]}</strong>: {TRANSFER_EXPLANATIONS[mode]}
          </span>
        </label>
      ))}
    </fieldset>
  );
}
