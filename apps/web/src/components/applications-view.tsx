"use client";

import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { useState } from "react";
import { describeError } from "../lib/errors";
import { plural } from "../lib/format";
import { useTRPC } from "../trpc/react";
import { DeployDialog } from "./deploy-dialog";
import { useLive } from "./live-events";
import { StatusBadge } from "./status-badge";
import { useCanOperate } from "./user-context";

/** Every application that is not deleted, with its kind, version, status and progress; operators deploy a new one here. */
export function ApplicationsView() {
  const trpc = useTRPC();
  const live = useLive();
  const poll = live ? false : 5000;
  const topology = useQuery({ ...trpc.topology.get.queryOptions(), refetchInterval: poll });
  const list = useQuery({ ...trpc.applications.list.queryOptions(), refetchInterval: poll });
  const canOperate = useCanOperate();
  const [deploying, setDeploying] = useState(false);

  if (topology.isPending || list.isPending) return <p className="placeholder">Loading applications…</p>;
  if (topology.isError || list.isError)
    return <p className="callout callout--bad">Cannot load the applications. {describeError(topology.error ?? list.error)}</p>;

  const vms = topology.data.hosts.flatMap((h) => h.vms);
  const live_ = topology.data.applications.filter((a) => a.status !== "deleted");
  const versions = new Map(list.data.map((a) => [a.id, a.version]));
  const deployWhy = canOperate ? null : "Your role is viewer: an operator deploys applications";

  return (
    <>
      <div className="page-head">
        <div>
          <h1>Applications</h1>
          <p className="muted">{plural(live_.length, "application")}</p>
        </div>
        <div className="action-with-why">
          <button
            type="button"
            className="button button--primary"
            data-testid="deploy-button"
            disabled={deployWhy !== null}
            aria-describedby={deployWhy ? "deploy-why" : undefined}
            title={deployWhy ?? "Deploy an installed application onto new VMs"}
            onClick={() => setDeploying(true)}
          >
            Deploy application…
          </button>
          {deployWhy && (
            <span className="why" id="deploy-why" data-testid="deploy-why">
              {deployWhy}
            </span>
          )}
        </div>
      </div>

      <section className="panel panel--flush" aria-label="Applications">
        {live_.length === 0 ? (
          <p className="placeholder">No applications: deploy one.</p>
        ) : (
          <table className="table table--stack" data-testid="apps-table">
            <thead>
              <tr>
                <th>Application</th>
                <th>Kind</th>
                <th>Version</th>
                <th>Status</th>
                <th className="num">Iteration</th>
                <th className="num">VMs</th>
                <th className="num">Actors</th>
              </tr>
            </thead>
            <tbody>
              {live_.map((app) => {
                const own = vms.filter((v) => v.applicationId === app.id);
                return (
                  <tr key={app.id} data-testid={`apps-row-${app.id}`} data-status={app.status}>
                    <td data-label="Application">
                      <Link href={`/applications/${app.id}`} data-testid={`apps-link-${app.id}`}>
                        {app.id}
                      </Link>
                    </td>
                    <td data-label="Kind">{app.kind}</td>
                    <td data-label="Version">{versions.get(app.id) ?? "—"}</td>
                    <td data-label="Status">
                      <StatusBadge status={app.status} of="vm" />
                      {app.statusReason && <div className="muted">{app.statusReason}</div>}
                    </td>
                    <td
                      data-label="Iteration"
                      className="num"
                      data-testid={`apps-iteration-${app.id}`}
                      data-value={app.iteration}
                    >
                      {app.iteration.toLocaleString("en-US")}
                    </td>
                    <td data-label="VMs" className="num">
                      {own.length}
                    </td>
                    <td data-label="Actors" className="num">
                      {own.reduce((n, v) => n + v.actorCount, 0)}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
      </section>

      {deploying && (
        <DeployDialog
          hosts={topology.data.hosts}
          taken={topology.data.applications.map((a) => a.id)}
          onClose={() => setDeploying(false)}
        />
      )}
    </>
  );
}
