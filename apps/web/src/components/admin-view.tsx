"use client";

import { ROLE_ABILITIES, ROLES, type Role } from "@malleo/api/roles";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { describeError } from "../lib/errors";
import { formatAgo, formatInstant, formatTime } from "../lib/format";
import { useTRPC } from "../trpc/react";
import { ConfirmDialog } from "./confirm-dialog";
import { CopyButton } from "./copy-button";
import { BundlesAdmin } from "./bundles-admin";
import { HostsAdmin } from "./hosts-admin";
import { useNow } from "./use-now";
import { useUser } from "./user-context";

/** Users and API tokens: what only an admin manages. */
export function AdminView() {
  return (
    <>
      <div className="page-head">
        <div>
          <h1>Admin</h1>
          <p className="muted">
            Who may sign in, with which role, the API tokens scripts and the CLI use, the hosts, and the application bundles.
          </p>
        </div>
      </div>
      <div className="grid-2">
        <Users />
        <Tokens />
      </div>
      <HostsAdmin />
      <BundlesAdmin />
    </>
  );
}

function Users() {
  const trpc = useTRPC();
  const me = useUser();
  const qc = useQueryClient();
  const now = useNow(10_000);
  const users = useQuery(trpc.users.list.queryOptions());
  const refresh = () => void qc.invalidateQueries(trpc.users.pathFilter());
  const create = useMutation(trpc.users.create.mutationOptions({ onSuccess: refresh }));
  const setRole = useMutation(trpc.users.setRole.mutationOptions({ onSuccess: refresh }));
  const disable = useMutation(trpc.users.disable.mutationOptions({ onSuccess: refresh }));
  const enable = useMutation(trpc.users.enable.mutationOptions({ onSuccess: refresh }));
  const reset = useMutation(trpc.users.resetPassword.mutationOptions({ onSuccess: () => setResetting(null) }));
  // The user whose password is being reset, and the new password typed for them.
  const [resetting, setResetting] = useState<string | null>(null);
  const [newPassword, setNewPassword] = useState("");
  const [name, setName] = useState("");
  const [role, setRoleChoice] = useState<Role>("viewer");
  const [password, setPassword] = useState("");
  // A role change or a disable waits for the admin to confirm it.
  const [confirming, setConfirming] = useState<
    { kind: "role"; id: string; name: string; from: Role; to: Role } | { kind: "disable"; id: string; name: string } | null
  >(null);
  const failure = create.error ?? setRole.error ?? disable.error ?? enable.error ?? reset.error;

  return (
    <section className="panel" aria-label="Users">
      <h2 className="panel__title">Users</h2>
      <table className="table table--compact table--stack" data-testid="users-table">
        <thead>
          <tr>
            <th>Name</th>
            <th>Role</th>
            <th>Created</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {users.data?.map((u) => (
            <tr key={u.id} data-testid={`user-row-${u.name}`} data-role={u.role} data-disabled={u.disabledAt ? "true" : "false"}>
              <td data-label="Name">
                {u.name}
                {u.disabledAt && <span className="muted"> (disabled)</span>}
              </td>
              <td data-label="Role">
                <select
                  aria-label={`Role of ${u.name}`}
                  data-testid={`user-role-${u.name}`}
                  value={u.role}
                  disabled={u.id === me.id || u.disabledAt !== null}
                  aria-describedby={u.id === me.id || u.disabledAt ? `role-why-${u.id}` : undefined}
                  onChange={(e) =>
                    setConfirming({ kind: "role", id: u.id, name: u.name, from: u.role, to: e.target.value as Role })
                  }
                >
                  {ROLES.map((r) => (
                    <option key={r} value={r}>
                      {r}
                    </option>
                  ))}
                </select>
                {(u.id === me.id || u.disabledAt) && (
                  <div className="why" id={`role-why-${u.id}`}>
                    {u.id === me.id ? "your own role: another admin can change it" : "enable the user to change their role"}
                  </div>
                )}
              </td>
              <td data-label="Created" title={u.createdAt.toISOString()}>
                {formatAgo(u.createdAt, now)}
                {u.createdBy && <span className="muted"> by {u.createdBy}</span>}
              </td>
              <td>
                {u.id !== me.id && !u.disabledAt && (
                  <button
                    type="button"
                    className="button button--small button--ghost"
                    data-testid={`user-disable-${u.name}`}
                    onClick={() => setConfirming({ kind: "disable", id: u.id, name: u.name })}
                  >
                    Disable
                  </button>
                )}
                {u.disabledAt && (
                  <button
                    type="button"
                    className="button button--small button--ghost"
                    data-testid={`user-enable-${u.name}`}
                    onClick={() => enable.mutate({ id: u.id })}
                  >
                    Enable
                  </button>
                )}
                {u.id !== me.id &&
                  (resetting === u.id ? (
                    <form
                      className="form-row"
                      onSubmit={(e) => {
                        e.preventDefault();
                        reset.mutate({ id: u.id, password: newPassword }, { onSuccess: () => setNewPassword("") });
                      }}
                    >
                      <input
                        type="password"
                        autoComplete="new-password"
                        aria-label={`New password for ${u.name}`}
                        data-testid={`user-reset-password-${u.name}`}
                        placeholder="new password, 12+ characters"
                        value={newPassword}
                        onChange={(e) => setNewPassword(e.target.value)}
                      />
                      <button type="submit" className="button button--small button--primary" disabled={reset.isPending}>
                        Set
                      </button>
                    </form>
                  ) : (
                    <button
                      type="button"
                      className="button button--small button--ghost"
                      data-testid={`user-reset-${u.name}`}
                      onClick={() => {
                        setNewPassword("");
                        setResetting(u.id);
                      }}
                    >
                      Reset password
                    </button>
                  ))}
              </td>
            </tr>
          ))}
        </tbody>
      </table>

      <form
        className="form-row"
        data-testid="user-create"
        onSubmit={(e) => {
          e.preventDefault();
          create.mutate(
            { name, role, password },
            {
              onSuccess: () => {
                setName("");
                setPassword("");
              },
            },
          );
        }}
      >
        <label className="field">
          <span className="field__label">Name</span>
          <input data-testid="user-create-name" value={name} onChange={(e) => setName(e.target.value)} autoComplete="off" />
        </label>
        <label className="field">
          <span className="field__label">Role</span>
          <select data-testid="user-create-role" value={role} onChange={(e) => setRoleChoice(e.target.value as Role)}>
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span className="field__label">Initial password</span>
          <input
            data-testid="user-create-password"
            type="password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            autoComplete="new-password"
          />
        </label>
        <button type="submit" className="button button--primary" data-testid="user-create-submit" disabled={create.isPending}>
          Create user
        </button>
      </form>
      <p className="muted">
        {ROLES.map((r) => (
          <span key={r}>
            <strong>{r}</strong>: {ROLE_ABILITIES[r]}.{" "}
          </span>
        ))}
      </p>
      {failure && (
        <p className="callout callout--bad" role="alert" data-testid="user-error">
          {describeError(failure)}
        </p>
      )}
      {confirming?.kind === "role" && (
        <ConfirmDialog
          title={`Make ${confirming.name} ${article(confirming.to)} ${confirming.to}?`}
          confirmLabel={`Make ${confirming.to}`}
          danger={confirming.to === "admin"}
          busy={setRole.isPending}
          onCancel={() => setConfirming(null)}
          onConfirm={() => setRole.mutate({ id: confirming.id, role: confirming.to }, { onSettled: () => setConfirming(null) })}
        >
          <p>
            {confirming.name} is {article(confirming.from)} <strong>{confirming.from}</strong> ({ROLE_ABILITIES[confirming.from]}
            ).
          </p>
          <p>
            As {article(confirming.to)} <strong>{confirming.to}</strong> they can: {ROLE_ABILITIES[confirming.to]}. Their sessions
            and API tokens take the new role at once.
          </p>
        </ConfirmDialog>
      )}
      {confirming?.kind === "disable" && (
        <ConfirmDialog
          title={`Disable ${confirming.name}?`}
          confirmLabel={`Disable ${confirming.name}`}
          danger
          busy={disable.isPending}
          onCancel={() => setConfirming(null)}
          onConfirm={() => disable.mutate({ id: confirming.id }, { onSettled: () => setConfirming(null) })}
        >
          <p>
            {confirming.name} is signed out everywhere and every API token acting as them is revoked. Enabling them again later
            does not bring the tokens back.
          </p>
        </ConfirmDialog>
      )}
    </section>
  );
}

function Tokens() {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const now = useNow(10_000);
  const users = useQuery(trpc.users.list.queryOptions());
  const tokens = useQuery(trpc.users.tokens.queryOptions());
  const refresh = () => void qc.invalidateQueries(trpc.users.pathFilter());
  const create = useMutation(trpc.users.createToken.mutationOptions({ onSuccess: refresh }));
  const revoke = useMutation(trpc.users.revokeToken.mutationOptions({ onSuccess: refresh }));
  const [userId, setUserId] = useState("");
  const [name, setName] = useState("");
  // "" = until revoked; else days from now.
  const [expiresInDays, setExpiresInDays] = useState("");
  const [revoking, setRevoking] = useState<{ id: string; name: string; user: string } | null>(null);
  const active = users.data?.filter((u) => !u.disabledAt) ?? [];
  const chosen = userId || active[0]?.id || "";

  return (
    <section className="panel" aria-label="API tokens">
      <h2 className="panel__title">API tokens</h2>
      <p className="muted">
        A token acts as its user with that user&apos;s role. Send it as <span className="mono">Authorization: Bearer …</span> or
        give it to the CLI as <span className="mono">MALLEO_TOKEN</span>.
      </p>
      <table className="table table--compact table--stack" data-testid="tokens-table">
        <thead>
          <tr>
            <th>Name</th>
            <th>User</th>
            <th>Created</th>
            <th>Last used</th>
            <th>Expires</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {tokens.data?.map((t) => (
            <tr key={t.id} data-testid="token-row" data-name={t.name} data-revoked={t.revokedAt ? "true" : "false"}>
              <td data-label="Name">{t.name}</td>
              <td data-label="User">
                {t.user.name} <span className="muted">({t.user.role})</span>
              </td>
              <td data-label="Created" data-testid="token-created" title={formatInstant(t.createdAt)}>
                {formatAgo(t.createdAt, now)}
                <span className="muted"> by {t.createdBy ?? "—"}</span>
              </td>
              <td data-label="Last used">
                {t.revokedAt ? <span className="muted">revoked</span> : t.lastUsedAt ? formatTime(t.lastUsedAt, now) : "never"}
              </td>
              <td data-label="Expires" data-testid="token-expires">
                {t.expiresAt ? (
                  t.expiresAt.getTime() <= now ? (
                    <span className="muted">expired</span>
                  ) : (
                    <span title={formatInstant(t.expiresAt)}>{formatTime(t.expiresAt, now)}</span>
                  )
                ) : (
                  <span className="muted">when revoked</span>
                )}
              </td>
              <td>
                {!t.revokedAt && (
                  <button
                    type="button"
                    className="button button--small button--ghost"
                    data-testid={`token-revoke-${t.name}`}
                    onClick={() => setRevoking({ id: t.id, name: t.name, user: t.user.name })}
                  >
                    Revoke
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form
        className="form-row"
        data-testid="token-create"
        onSubmit={(e) => {
          e.preventDefault();
          create.mutate(
            { userId: chosen, name, ...(expiresInDays ? { expiresInDays: Number(expiresInDays) } : {}) },
            { onSuccess: () => setName("") },
          );
        }}
      >
        <label className="field">
          <span className="field__label">Acts as</span>
          <select data-testid="token-create-user" value={chosen} onChange={(e) => setUserId(e.target.value)}>
            {active.map((u) => (
              <option key={u.id} value={u.id}>
                {u.name} ({u.role})
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span className="field__label">Used by</span>
          <input
            data-testid="token-create-name"
            value={name}
            placeholder="e.g. nightly script"
            onChange={(e) => setName(e.target.value)}
          />
        </label>
        <label className="field">
          <span className="field__label">Expires</span>
          <select data-testid="token-create-expiry" value={expiresInDays} onChange={(e) => setExpiresInDays(e.target.value)}>
            <option value="">when revoked</option>
            <option value="7">in 7 days</option>
            <option value="30">in 30 days</option>
            <option value="90">in 90 days</option>
            <option value="365">in a year</option>
          </select>
        </label>
        <button
          type="submit"
          className="button button--primary"
          data-testid="token-create-submit"
          disabled={create.isPending || !chosen}
        >
          Create token
        </button>
      </form>
      {create.data && (
        <div className="callout callout--warn" data-testid="token-secret-box">
          Copy this token now; it is not shown again:
          <code className="secret mono" data-testid="token-secret">
            {create.data.secret}
          </code>
          <CopyButton text={create.data.secret} testId="token-copy" />
        </div>
      )}
      {revoking && (
        <ConfirmDialog
          title={`Revoke the token “${revoking.name}”?`}
          confirmLabel="Revoke token"
          danger
          busy={revoke.isPending}
          onCancel={() => setRevoking(null)}
          onConfirm={() => revoke.mutate({ id: revoking.id }, { onSettled: () => setRevoking(null) })}
        >
          <p>
            Whatever uses it (it acts as <strong>{revoking.user}</strong>) is refused from its next request. A revoked token
            cannot be restored: create a new one instead.
          </p>
        </ConfirmDialog>
      )}
      {(create.error ?? revoke.error) && (
        <p className="callout callout--bad" role="alert">
          {describeError(create.error ?? revoke.error)}
        </p>
      )}
    </section>
  );
}

/** "an admin", "a viewer" */
function article(role: string): string {
  return /^[aeiou]/.test(role) ? "an" : "a";
}
