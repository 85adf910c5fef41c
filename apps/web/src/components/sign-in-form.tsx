"use client";

import { useMutation } from "@tanstack/react-query";
import { useState } from "react";
import { describeError } from "../lib/errors";
import { useTRPC } from "../trpc/react";

/** `next`: where to go once signed in, already checked to be a path on this site (safeNextPath). */
export function SignInForm({ next = "/" }: { next?: string }) {
  const trpc = useTRPC();
  const [name, setName] = useState("");
  const [password, setPassword] = useState("");
  const signIn = useMutation(
    // A full navigation so the console's server layout sees the new session cookie.
    trpc.auth.signIn.mutationOptions({ onSuccess: () => window.location.assign(next) }),
  );
  return (
    <div className="sign-in">
      <form
        className="panel sign-in__card"
        data-testid="sign-in-form"
        onSubmit={(e) => {
          e.preventDefault();
          signIn.mutate({ name, password });
        }}
      >
        <h1 className="sign-in__title">
          <span className="brand__mark" aria-hidden>
            ◧
          </span>{" "}
          Malleo
        </h1>
        <p className="muted">Sign in to watch and change your VMs.</p>
        {next !== "/" && (
          <p className="muted" data-testid="sign-in-next">
            You will be taken back to <span className="mono">{next}</span>.
          </p>
        )}
        <label className="field">
          <span className="field__label">User name</span>
          <input
            data-testid="sign-in-name"
            autoComplete="username"
            autoFocus
            value={name}
            onChange={(e) => setName(e.target.value)}
          />
        </label>
        <label className="field">
          <span className="field__label">Password</span>
          <input
            data-testid="sign-in-password"
            type="password"
            autoComplete="current-password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </label>
        {signIn.isError && (
          <p className="callout callout--bad" role="alert" data-testid="sign-in-error">
            {describeError(signIn.error)}
          </p>
        )}
        <button
          type="submit"
          className="button button--primary sign-in__submit"
          data-testid="sign-in-submit"
          disabled={signIn.isPending || signIn.isSuccess || !name || !password}
        >
          {signIn.isPending || signIn.isSuccess ? "Signing in…" : "Sign in"}
        </button>
      </form>
    </div>
  );
}
