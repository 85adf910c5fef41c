"use client";

import { hostChoices } from "@malleo/core";
import { useMutation, useQuery } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { useRef, useState } from "react";
import { suggestedApplicationId } from "../lib/application";
import { configFields, configFromValues, initialValues, rangeText, type ConfigField, type ConfigValue } from "../lib/config-form";
import { describeError } from "../lib/errors";
import { hostChoiceLabel } from "../lib/placement-text";
import { keyKeeper, sendOnce } from "../lib/send-once";
import { useTRPC, useTRPCClient } from "../trpc/react";
import type { ApplicationKind, TopologyHost } from "../trpc/types";
import { FormOutcome } from "./form-outcome";
import { Modal } from "./modal";

interface VmRequest {
  hostId: string;
  vcpus: string;
  memoryMiB: string;
}

const MAX_VMS = 8;

/**
 * Deploy an application (installed, or a registered bundle): its kind and version, its configuration (a form generated
 * from the kind's config schema, starting from its default) and its first VMs. The server
 * validates all of it; its refusal is shown here, and success opens the application's page.
 */
export function DeployDialog({ hosts, taken, onClose }: { hosts: TopologyHost[]; taken: string[]; onClose: () => void }) {
  const trpc = useTRPC();
  const kinds = useQuery(trpc.applications.kinds.queryOptions());
  return (
    <Modal
      title="Deploy application"
      onClose={onClose}
      testId="deploy-dialog"
      footer={
        kinds.data ? undefined : (
          <button type="button" className="button button--ghost" onClick={onClose}>
            Cancel
          </button>
        )
      }
    >
      {kinds.isPending && <p className="placeholder">Loading the installed applications…</p>}
      {kinds.isError && <p className="callout callout--bad">{describeError(kinds.error)}</p>}
      {kinds.data && <DeployForm kinds={kinds.data} hosts={hosts} taken={taken} onClose={onClose} />}
    </Modal>
  );
}

function DeployForm({
  kinds,
  hosts,
  taken,
  onClose,
}: {
  kinds: ApplicationKind[];
  hosts: TopologyHost[];
  taken: string[];
  onClose: () => void;
}) {
  const client = useTRPCClient();
  const router = useRouter();
  const keys = useRef(keyKeeper()).current;
  const choices = hostChoices(hosts, new Set());
  const firstHost = [...choices].filter((c) => c.choosable).sort((a, b) => b.free.vcpus - a.free.vcpus)[0]?.hostId ?? "";
  const [kindName, setKindName] = useState(kinds[0]?.kind ?? "");
  const kind = kinds.find((k) => k.kind === kindName);
  // A bundle kind may have several registered versions; the form is generated from the newest one's schema.
  const [version, setVersion] = useState(kind?.version ?? "");
  const fields = kind ? configFields(kind.configSchema) : [];
  const [applicationId, setApplicationId] = useState(() => suggestedApplicationId(kindName, taken));
  const [values, setValues] = useState<Record<string, ConfigValue>>(() => initialValues(fields, kind?.defaultConfig));
  const [vms, setVms] = useState<VmRequest[]>([{ hostId: firstHost, vcpus: "2", memoryMiB: "2048" }]);

  // Sent once, now or never: no retry, and no waiting for the browser to come back online.
  const deploy = useMutation({
    mutationFn: (input: Parameters<typeof client.applications.deploy.mutate>[0]) =>
      sendOnce(keys.guardFor(input), (guard, signal) => client.applications.deploy.mutate({ ...input, ...guard }, { signal })),
    networkMode: "always",
    retry: false,
    onSuccess: (op) => {
      keys.done();
      router.push(`/applications/${op.applicationId}`);
    },
  });

  const chooseKind = (name: string) => {
    const k = kinds.find((x) => x.kind === name);
    setKindName(name);
    setVersion(k?.version ?? "");
    setApplicationId(suggestedApplicationId(name, taken));
    setValues(initialValues(k ? configFields(k.configSchema) : [], k?.defaultConfig));
  };
  const setCount = (n: number) =>
    setVms((old) =>
      Array.from({ length: n }, (_, i) => old[i] ?? { ...(old.at(-1) ?? { hostId: firstHost, vcpus: "2", memoryMiB: "2048" }) }),
    );
  const setVm = (i: number, change: Partial<VmRequest>) =>
    setVms((old) => old.map((v, j) => (j === i ? { ...v, ...change } : v)));

  const { config, problems } = configFromValues(fields, values);
  const submit = () =>
    deploy.mutate({
      applicationId: applicationId.trim(),
      kind: kindName,
      version: version || kind?.version,
      config,
      // Sent as typed: the server says what is wrong with a number out of range.
      vms: vms.map((v) => ({ hostId: v.hostId, vcpus: Number(v.vcpus), memoryMiB: Number(v.memoryMiB) })),
    });

  return (
    <form
      className="deploy"
      data-testid="deploy-form"
      onSubmit={(e) => {
        e.preventDefault();
        submit();
      }}
    >
      <div className="form-row">
        <label className="field">
          <span className="field__label">Kind</span>
          <select data-testid="deploy-kind" value={kindName} onChange={(e) => chooseKind(e.target.value)}>
            {kinds.map((k) => (
              <option key={k.kind} value={k.kind}>
                {k.kind}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span className="field__label">Version</span>
          <select data-testid="deploy-version" value={version} disabled={!kind} onChange={(e) => setVersion(e.target.value)}>
            {kind?.versions.map((v) => (
              <option key={v} value={v}>
                {v} ({kind.source === "installed" ? "installed" : "bundle"})
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span className="field__label">Application id</span>
          <input data-testid="deploy-id" value={applicationId} onChange={(e) => setApplicationId(e.target.value)} />
        </label>
      </div>
      {kind && <p className="muted">{kind.description}</p>}

      <fieldset className="deploy__group" data-testid="deploy-config">
        <legend>Configuration</legend>
        {fields.length === 0 && <p className="muted">This application takes no configuration.</p>}
        <div className="deploy__fields">
          {fields.map((f) => (
            <ConfigInput
              key={`${kindName}.${f.name}`}
              field={f}
              value={values[f.name]}
              onChange={(v) => setValues((old) => ({ ...old, [f.name]: v }))}
            />
          ))}
        </div>
      </fieldset>

      <fieldset className="deploy__group" data-testid="deploy-vms">
        <legend>Initial VMs</legend>
        <label className="field">
          <span className="field__label">How many</span>
          <select data-testid="deploy-vm-count" value={vms.length} onChange={(e) => setCount(Number(e.target.value))}>
            {Array.from({ length: MAX_VMS }, (_, i) => i + 1).map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </label>
        <table className="table table--compact">
          <thead>
            <tr>
              <th>VM</th>
              <th>Host</th>
              <th className="num">vCPUs</th>
              <th className="num">Memory (MiB)</th>
            </tr>
          </thead>
          <tbody>
            {vms.map((vm, i) => (
              <tr key={i}>
                <td className="mono">
                  {applicationId.trim() || "…"}-{i + 1}
                </td>
                <td>
                  <select
                    data-testid={`deploy-vm-host-${i}`}
                    aria-label={`Host for VM ${i + 1}`}
                    value={vm.hostId}
                    onChange={(e) => setVm(i, { hostId: e.target.value })}
                  >
                    {choices.map((c) => (
                      <option key={c.hostId} value={c.hostId} disabled={!c.choosable && c.hostId !== vm.hostId}>
                        {hostChoiceLabel(c)}
                      </option>
                    ))}
                  </select>
                </td>
                <td className="num">
                  <input
                    className="deploy__number"
                    data-testid={`deploy-vm-vcpus-${i}`}
                    aria-label={`vCPUs of VM ${i + 1}`}
                    inputMode="numeric"
                    value={vm.vcpus}
                    onChange={(e) => setVm(i, { vcpus: e.target.value })}
                  />
                </td>
                <td className="num">
                  <input
                    className="deploy__number"
                    data-testid={`deploy-vm-memory-${i}`}
                    aria-label={`Memory of VM ${i + 1} in MiB`}
                    inputMode="numeric"
                    value={vm.memoryMiB}
                    onChange={(e) => setVm(i, { memoryMiB: e.target.value })}
                  />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </fieldset>

      <FormOutcome problems={problems} error={deploy.error} testIdPrefix="deploy" />
      <div className="modal__foot deploy__foot">
        <button type="button" className="button button--ghost" onClick={onClose}>
          Cancel
        </button>
        <button
          type="submit"
          className="button button--primary"
          data-testid="deploy-submit"
          disabled={problems.length > 0 || deploy.isPending || deploy.isSuccess}
        >
          {deploy.isPending ? "Submitting…" : `Deploy on ${vms.length === 1 ? "1 VM" : `${vms.length} VMs`}`}
        </button>
      </div>
    </form>
  );
}

/** One configuration field, rendered by its schema type: a number, a checkbox, text or JSON; a nullable one has "none". */
function ConfigInput({
  field,
  value,
  onChange,
}: {
  field: ConfigField;
  value: ConfigValue | undefined;
  onChange: (v: ConfigValue) => void;
}) {
  const testId = `deploy-config-${field.name}`;
  if (field.type === "boolean") {
    return (
      <label className="checklist__item">
        <input type="checkbox" data-testid={testId} checked={value === true} onChange={(e) => onChange(e.target.checked)} />{" "}
        {field.name}
      </label>
    );
  }
  const v = typeof value === "object" ? value : { text: "", isNull: false };
  const range = field.type === "integer" || field.type === "number" ? rangeText(field) : null;
  const hint = [field.type === "integer" ? "whole number" : field.type, range, field.required ? null : "optional"]
    .filter(Boolean)
    .join(", ");
  return (
    <div className="field deploy__field">
      <label className="field__label" htmlFor={testId}>
        {field.name}
      </label>
      <input
        id={testId}
        data-testid={testId}
        value={v.isNull ? "" : v.text}
        disabled={v.isNull}
        inputMode={field.type === "integer" ? "numeric" : field.type === "number" ? "decimal" : undefined}
        placeholder={v.isNull ? "none" : undefined}
        onChange={(e) => onChange({ text: e.target.value, isNull: false })}
      />
      {field.nullable && (
        <label className="deploy__none">
          <input
            type="checkbox"
            data-testid={`${testId}-none`}
            checked={v.isNull}
            onChange={(e) => onChange({ text: v.text, isNull: e.target.checked })}
          />{" "}
          none
        </label>
      )}
      <span className="muted deploy__hint">{field.description ? `${field.description} (${hint})` : hint}</span>
    </div>
  );
}
