"use client";

import type { RouterOutputs } from "@malleo/api";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { describeError } from "../lib/errors";
import { formatMiB } from "../lib/format";
import { useTRPC } from "../trpc/react";
import { ConfirmDialog } from "./confirm-dialog";
import { StatusBadge } from "./status-badge";

type Host = RouterOutputs["hosts"]["list"][number];

/** Each rejected field's message (INVALID_INPUT), so it can be shown beside its input. */
function fieldIssues(error: unknown): Record<string, string> {
  const issues = (error as { data?: { issues?: { path: string; message: string }[] | null } } | null)?.data?.issues ?? [];
  return Object.fromEntries(issues.map((i) => [i.path, i.message]));
}

/** A number input's value, or NaN (which the server refuses with a message) when it is not a number. */
const num = (s: string) => (s.trim() === "" ? Number.NaN : Number(s));

/**
 * Hosts: register a physical machine by its libvirt URI, change its VM quota and overcommit
 * ratios, remove it. The worker connects to a new host within a moment and fills in its capacity.
 */
export function HostsAdmin() {
  const trpc = useTRPC();
  // Status and capacity change when the worker reaches a host: poll while the section is open.
  const hosts = useQuery(trpc.hosts.list.queryOptions(undefined, { refetchInterval: 2_000 }));
  const [editing, setEditing] = useState<string | null>(null);

  return (
    <section className="panel" aria-label="Hosts" data-testid="hosts-admin">
      <h2 className="panel__title">Hosts</h2>
      <p className="muted">
        Physical machines reached through libvirt. Placement may use each host&apos;s CPUs and memory times its overcommit ratios;
        the VM quota is never overcommitted.
      </p>
      <table className="table table--compact table--stack" data-testid="hosts-table">
        <thead>
          <tr>
            <th>Host</th>
            <th>Status</th>
            <th className="num">VMs</th>
            <th className="num">vCPUs used / placeable</th>
            <th className="num">Memory used / placeable</th>
            <th className="num">Overcommit CPU · memory</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {hosts.data?.map((h) =>
            editing === h.id ? (
              <HostEditRow key={h.id} host={h} onDone={() => setEditing(null)} />
            ) : (
              <HostRow key={h.id} host={h} onEdit={() => setEditing(h.id)} />
            ),
          )}
        </tbody>
      </table>
      {hosts.error && (
        <p className="callout callout--bad" role="alert">
          {describeError(hosts.error)}
        </p>
      )}
      <RegisterHost />
    </section>
  );
}

function HostRow({ host: h, onEdit }: { host: Host; onEdit: () => void }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const remove = useMutation(
    trpc.hosts.remove.mutationOptions({ onSuccess: () => void qc.invalidateQueries(trpc.hosts.pathFilter()) }),
  );
  const known = h.cpus > 0;
  const [confirming, setConfirming] = useState(false);
  return (
    <>
      <tr data-testid={`host-row-${h.id}`} data-status={h.status}>
        <td data-label="Host">
          <strong>{h.name}</strong>
          <div className="mono muted">{h.uri}</div>
          {h.accelerator && <div className="muted">{h.accelerator}</div>}
        </td>
        <td data-label="Status">
          <StatusBadge status={h.status} testId={`host-status-${h.id}`} />
          {h.statusReason && (
            <div className="muted" data-testid={`host-reason-${h.id}`}>
              {h.statusReason}
            </div>
          )}
          {h.status === "unreachable" && h.vms.length > 0 && (
            <div className="muted" data-testid={`host-unknown-vms-${h.id}`}>
              State unknown, kept until the host answers: {h.vms.map((v) => v.name).join(", ")}
            </div>
          )}
        </td>
        <td className="num" data-label="VMs" data-testid={`host-vms-${h.id}`} style={{ whiteSpace: "nowrap" }}>
          {h.used.vms} / {h.vmQuota}
        </td>
        <td className="num" data-label="vCPUs used" data-testid={`host-cpus-${h.id}`}>
          {known ? `${h.used.vcpus} / ${h.placeable.vcpus}` : "not read yet"}
          {known && h.cpuOvercommit !== 1 && <div className="muted">{h.cpus} CPUs</div>}
        </td>
        <td className="num" data-label="Memory used">
          {known ? `${formatMiB(h.used.memoryMiB)} / ${formatMiB(h.placeable.memoryMiB)}` : "not read yet"}
          {known && h.memoryOvercommit !== 1 && <div className="muted">{formatMiB(h.memoryMiB)} installed</div>}
        </td>
        <td className="num" data-label="Overcommit" data-testid={`host-ratios-${h.id}`}>
          {h.cpuOvercommit} · {h.memoryOvercommit}
        </td>
        <td>
          <button type="button" className="button button--small button--ghost" data-testid={`host-edit-${h.id}`} onClick={onEdit}>
            Edit
          </button>{" "}
          <button
            type="button"
            className="button button--small button--ghost"
            data-testid={`host-remove-${h.id}`}
            disabled={remove.isPending}
            onClick={() => setConfirming(true)}
          >
            Remove
          </button>
          {confirming && (
            <ConfirmDialog
              title={`Remove host ${h.name}?`}
              confirmLabel="Remove host"
              danger
              busy={remove.isPending}
              onCancel={() => setConfirming(false)}
              onConfirm={() => remove.mutate({ id: h.id }, { onSettled: () => setConfirming(false) })}
            >
              <p>
                The worker closes its connection to <span className="mono">{h.uri}</span> and placement stops offering it. A host
                that still carries live VMs is refused.
              </p>
            </ConfirmDialog>
          )}
        </td>
      </tr>
      {remove.error && (
        <tr>
          <td colSpan={7}>
            <p className="callout callout--bad" role="alert" data-testid={`host-remove-error-${h.id}`}>
              {describeError(remove.error)}
            </p>
          </td>
        </tr>
      )}
    </>
  );
}

function HostEditRow({ host: h, onDone }: { host: Host; onDone: () => void }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const update = useMutation(
    trpc.hosts.update.mutationOptions({
      onSuccess: () => {
        void qc.invalidateQueries(trpc.hosts.pathFilter());
        onDone();
      },
    }),
  );
  const settings = useHostSettings(h);
  const issues = fieldIssues(update.error);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    update.mutate({ id: h.id, ...settings.values() });
  };
  return (
    <tr data-testid={`host-edit-row-${h.id}`}>
      <td colSpan={7}>
        <form className="form-row" onSubmit={submit} data-testid="host-update">
          <strong>{h.name}</strong>
          <HostSettingsFields settings={settings} issues={issues} testIdPrefix="host-update" />
          <button type="submit" className="button button--primary" data-testid="host-update-submit" disabled={update.isPending}>
            Save
          </button>
          <button type="button" className="button button--ghost" onClick={onDone}>
            Cancel
          </button>
        </form>
        {update.error && Object.keys(issues).length === 0 && (
          <p className="callout callout--bad" role="alert" data-testid="host-update-error">
            {describeError(update.error)}
          </p>
        )}
      </td>
    </tr>
  );
}

interface HostSettings {
  vmQuota: number;
  cpuOvercommit: number;
  memoryOvercommit: number;
}

/** The quota and ratio inputs as typed (strings), and the numbers to send. */
function useHostSettings(initial: HostSettings) {
  const [quota, setQuota] = useState(String(initial.vmQuota));
  const [cpu, setCpu] = useState(String(initial.cpuOvercommit));
  const [memory, setMemory] = useState(String(initial.memoryOvercommit));
  return {
    quota: [quota, setQuota] as const,
    cpu: [cpu, setCpu] as const,
    memory: [memory, setMemory] as const,
    values: (): HostSettings => ({ vmQuota: num(quota), cpuOvercommit: num(cpu), memoryOvercommit: num(memory) }),
  };
}

function HostSettingsFields(props: {
  settings: ReturnType<typeof useHostSettings>;
  issues: Record<string, string>;
  testIdPrefix: string;
}) {
  const { settings, issues, testIdPrefix: p } = props;
  return (
    <>
      <NumberField label="VM quota" testId={`${p}-quota`} state={settings.quota} issue={issues.vmQuota} />
      <NumberField label="CPU overcommit" testId={`${p}-cpu`} state={settings.cpu} issue={issues.cpuOvercommit} step="0.05" />
      <NumberField
        label="Memory overcommit"
        testId={`${p}-memory`}
        state={settings.memory}
        issue={issues.memoryOvercommit}
        step="0.05"
      />
    </>
  );
}

function NumberField(props: {
  label: string;
  testId: string;
  state: readonly [string, (v: string) => void];
  issue?: string;
  step?: string;
}) {
  return (
    <label className="field field--inline">
      <span className="field__label">{props.label}</span>
      <input
        type="number"
        inputMode="decimal"
        step={props.step ?? "1"}
        data-testid={props.testId}
        value={props.state[0]}
        aria-invalid={props.issue ? true : undefined}
        onChange={(e) => props.state[1](e.target.value)}
        style={{ width: 90 }}
      />
      {props.issue && (
        <span className="table__error" role="alert" data-testid={`${props.testId}-error`}>
          {props.issue}
        </span>
      )}
    </label>
  );
}

function RegisterHost() {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const register = useMutation(
    trpc.hosts.register.mutationOptions({
      onSuccess: () => {
        void qc.invalidateQueries(trpc.hosts.pathFilter());
        void qc.invalidateQueries(trpc.topology.pathFilter());
        setName("");
        setUri("");
      },
    }),
  );
  // "Test connection": a worker tries the URI and answers what libvirt reported; nothing is saved.
  const probe = useMutation(trpc.hosts.test.mutationOptions());
  const [name, setName] = useState("");
  const [uri, setUri] = useState("");
  const settings = useHostSettings({ vmQuota: 4, cpuOvercommit: 1, memoryOvercommit: 1 });
  const issues = fieldIssues(register.error);

  return (
    <form
      data-testid="host-register"
      onSubmit={(e) => {
        e.preventDefault();
        register.mutate({ name, uri, ...settings.values() });
      }}
    >
      <h3>Register a host</h3>
      <div className="form-row">
        <label className="field field--inline">
          <span className="field__label">Name</span>
          <input
            data-testid="host-register-name"
            value={name}
            placeholder="pm-4"
            autoComplete="off"
            aria-invalid={issues.name ? true : undefined}
            onChange={(e) => setName(e.target.value)}
          />
          {issues.name && (
            <span className="table__error" role="alert" data-testid="host-register-name-error">
              {issues.name}
            </span>
          )}
        </label>
        <label className="field field--inline" style={{ flex: "1 1 320px" }}>
          <span className="field__label">libvirt URI</span>
          <input
            data-testid="host-register-uri"
            value={uri}
            placeholder="qemu+ssh://root@pm-4/system"
            autoComplete="off"
            className="mono"
            style={{ width: "100%" }}
            aria-invalid={issues.uri ? true : undefined}
            onChange={(e) => {
              setUri(e.target.value);
              probe.reset(); // an answer is about the URI it was given
            }}
          />
          {issues.uri && (
            <span className="table__error" role="alert" data-testid="host-register-uri-error">
              {issues.uri}
            </span>
          )}
        </label>
      </div>
      <div className="form-row">
        <HostSettingsFields settings={settings} issues={issues} testIdPrefix="host-register" />
        <button
          type="button"
          className="button"
          data-testid="host-register-test"
          disabled={probe.isPending || uri.trim() === ""}
          title="A worker opens the URI with libvirt and reads the host's CPUs and memory; nothing is registered"
          onClick={() => probe.mutate({ uri })}
        >
          {probe.isPending ? "Testing…" : "Test connection"}
        </button>
        <button type="submit" className="button button--primary" data-testid="host-register-submit" disabled={register.isPending}>
          Register host
        </button>
      </div>
      <ProbeResult answer={probe.data} error={probe.error} />
      <p className="muted">
        URIs: <span className="mono">test:///default</span>, <span className="mono">test:///&lt;absolute path&gt;.xml</span>{" "}
        (simulated), <span className="mono">qemu:///system</span>,{" "}
        <span className="mono">qemu+ssh://[user@]host[:port]/system</span>, <span className="mono">qemu+tls://host/system</span>{" "}
        (a simulated host&apos;s file must be in the worker&apos;s data directory; see the operations guide for the allowed
        parameters). The worker connects within a moment and reads the host&apos;s CPUs and memory from libvirt.
      </p>
      {register.error && Object.keys(issues).length === 0 && (
        <p className="callout callout--bad" role="alert" data-testid="host-register-error">
          {describeError(register.error)}
        </p>
      )}
    </form>
  );
}

type ProbeAnswer = RouterOutputs["hosts"]["test"];

/** What "Test connection" found, inline under the form: libvirt's figures, or why it could not connect. */
function ProbeResult({ answer, error }: { answer: ProbeAnswer | undefined; error: unknown }) {
  if (error) {
    const uriIssue = fieldIssues(error).uri;
    return (
      <p className="callout callout--bad" role="alert" data-testid="host-test-result" data-ok="false">
        URI refused, nothing was contacted: {uriIssue ?? describeError(error)}
      </p>
    );
  }
  if (!answer) return null;
  if (answer.ok)
    return (
      <p className="callout callout--good" role="status" data-testid="host-test-result" data-ok="true">
        Connected{answer.hostname ? ` to ${answer.hostname}` : ""}: {answer.cpus} CPUs · {formatMiB(answer.memoryMiB)}
        {answer.model ? ` (${answer.model})` : ""} · answered in {answer.elapsedMs} ms
      </p>
    );
  return (
    <div
      className="callout callout--bad probe-result"
      role="alert"
      data-testid="host-test-result"
      data-ok="false"
      data-kind={answer.kind}
    >
      <p>Cannot connect: {answer.reason}.</p>
      {answer.detail && <p className="mono muted">libvirt: {answer.detail}</p>}
    </div>
  );
}
