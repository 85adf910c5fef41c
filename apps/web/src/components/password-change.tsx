"use client";

import { useMutation } from "@tanstack/react-query";
import { useState } from "react";
import { describeError } from "../lib/errors";
import { useTRPC } from "../trpc/react";

/** The signed-in user's own password change: the current password is required. */
export function PasswordChange({ onDone }: { onDone: () => void }) {
  const trpc = useTRPC();
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const change = useMutation(trpc.auth.changePassword.mutationOptions());
  return (
    <form
      className="password-change panel"
      data-testid="password-change"
      onSubmit={(e) => {
        e.preventDefault();
        change.mutate({ currentPassword: current, newPassword: next }, { onSuccess: () => (setCurrent(""), setNext("")) });
      }}
    >
      <label className="field">
        <span className="field__label">Current password</span>
        <input
          type="password"
          autoComplete="current-password"
          data-testid="password-current"
          value={current}
          onChange={(e) => setCurrent(e.target.value)}
        />
      </label>
      <label className="field">
        <span className="field__label">New password (12 characters or more)</span>
        <input
          type="password"
          autoComplete="new-password"
          data-testid="password-new"
          value={next}
          onChange={(e) => setNext(e.target.value)}
        />
      </label>
      <span className="form-row">
        <button type="submit" className="button button--primary" data-testid="password-submit" disabled={change.isPending}>
          Change password
        </button>
        <button type="button" className="button button--ghost" onClick={onDone}>
          Close
        </button>
      </span>
      {change.isSuccess && (
        <p className="callout" role="status" data-testid="password-changed">
          Password changed. Your other sessions have been signed out.
        </p>
      )}
      {change.isError && (
        <p className="callout callout--bad" role="alert" data-testid="password-error">
          {describeError(change.error)}
        </p>
      )}
    </form>
  );
}
