"use client";

import type { BundleUploadAnswer } from "@malleo/api";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { formatAgo, formatInstant } from "../lib/format";
import { useTRPC } from "../trpc/react";
import { useNow } from "./use-now";

/**
 * Application bundles: the registered ones, and a file input to register another
 * (POST /api/applications/bundles; checked in a child process, refused with every reason).
 */
export function BundlesAdmin() {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const now = useNow(10_000);
  const bundles = useQuery(trpc.applications.bundles.queryOptions());
  const [file, setFile] = useState<File | null>(null);
  const [sending, setSending] = useState(false);
  const [outcome, setOutcome] = useState<BundleUploadAnswer | null>(null);

  const register = async () => {
    if (!file) return;
    setSending(true);
    setOutcome(null);
    try {
      const res = await fetch("/api/applications/bundles", {
        method: "POST",
        headers: { "content-type": "application/javascript" },
        body: file,
      });
      const answer = (await res.json().catch(() => ({
        error: { code: String(res.status), message: `the server answered ${res.status}`, problems: [] },
      }))) as BundleUploadAnswer;
      setOutcome(answer);
      if ("bundle" in answer) await qc.invalidateQueries(trpc.applications.pathFilter());
    } catch (e) {
      setOutcome({
        error: { code: "NETWORK", message: `the upload did not reach the server: ${(e as Error).message}`, problems: [] },
      });
    } finally {
      setSending(false);
    }
  };

  return (
    <section className="panel" aria-label="Application bundles">
      <h2 className="panel__title">Application bundles</h2>
      <p className="muted">
        A bundle is one file built by <span className="mono">malleo bundle build &lt;folder&gt;</span>. Registered, its kind can
        be deployed from Applications. At most 8 MiB.
      </p>
      <form
        className="form-row"
        onSubmit={(e) => {
          e.preventDefault();
          void register();
        }}
      >
        <label className="field">
          <span className="field__label">Bundle file</span>
          <input
            type="file"
            accept=".mjs,.js,application/javascript"
            data-testid="bundle-file"
            onChange={(e) => setFile(e.target.files?.[0] ?? null)}
          />
        </label>
        <button type="submit" className="button" disabled={!file || sending} data-testid="bundle-register">
          {sending ? "Checking…" : "Register"}
        </button>
      </form>
      {outcome && "bundle" in outcome && (
        <p className="callout callout--good" role="status" data-testid="bundle-registered">
          {outcome.bundle.created
            ? `Registered ${outcome.bundle.kind} ${outcome.bundle.version} (sha256 ${outcome.bundle.sha256.slice(0, 12)}…).`
            : `${outcome.bundle.kind} ${outcome.bundle.version} was already registered with these bytes; nothing changed.`}
        </p>
      )}
      {outcome && "error" in outcome && (
        <div className="callout callout--bad" role="alert" data-testid="bundle-error">
          <p>{outcome.error.message}</p>
          {outcome.error.problems.length > 1 && (
            <ul>
              {outcome.error.problems.map((p) => (
                <li key={p}>{p}</li>
              ))}
            </ul>
          )}
        </div>
      )}
      <table className="table table--compact table--stack" data-testid="bundles-table">
        <thead>
          <tr>
            <th>Kind</th>
            <th>Version</th>
            <th>SHA-256</th>
            <th>Size</th>
            <th>Registered</th>
          </tr>
        </thead>
        <tbody>
          {bundles.data?.map((b) => (
            <tr key={`${b.kind}@${b.version}`} data-testid="bundle-row" data-kind={b.kind}>
              <td data-label="Kind">{b.kind}</td>
              <td data-label="Version">{b.version}</td>
              <td data-label="SHA-256" className="mono" title={b.sha256}>
                {b.sha256.slice(0, 12)}…
              </td>
              <td data-label="Size">{(b.size / 1024).toFixed(0)} KiB</td>
              <td data-label="Registered" title={formatInstant(b.registeredAt)}>
                {formatAgo(b.registeredAt, now)} <span className="muted">by {b.registeredBy}</span>
              </td>
            </tr>
          ))}
          {bundles.data?.length === 0 && (
            <tr>
              <td colSpan={5} className="muted">
                No bundle registered yet.
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </section>
  );
}
