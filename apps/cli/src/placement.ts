// What `malleo split` and `malleo merge` send, decided by @malleo/core's placement — the same
// default targets and the same preview as the web dialogs, so a request the server would refuse
// is explained before it is sent (the server checks again).
import {
  defaultMergeTarget,
  defaultSplitTargets,
  previewMerge,
  previewSplit,
  type PlanApplication,
  type PlacementHost,
  type PlacementPreview,
  type PreviewVm,
} from "@malleo/core";
import { UsageError } from "./commands";

/** The part of `topology.get` placement reads. */
export interface TopologyForPlacement {
  hosts: (PlacementHost & { vms: PreviewVm[] })[];
  /** A degraded application's VMs are refused before sending. */
  applications?: PlanApplication[];
}

function applicationOf(topo: TopologyForPlacement, vm: PreviewVm | undefined): PlanApplication | undefined {
  return topo.applications?.find((a) => a.id === vm?.applicationId);
}

/** The server would refuse the request: every reason, one a line (exit code 1, nothing sent). */
export class PlacementRefused extends Error {
  constructor(readonly preview: PlacementPreview) {
    super(`refused before sending, as the server would:\n${preview.problems.map((p) => `  ${p.message}`).join("\n")}`);
    this.name = "PlacementRefused";
  }
}

function findVm(topo: TopologyForPlacement, name: string): PreviewVm {
  const vm = topo.hosts.flatMap((h) => h.vms).find((v) => v.name === name || v.id === name);
  if (!vm) throw new UsageError(`no VM named ${name}; \`malleo vms\` lists them`);
  return vm;
}

/** `split <vm> --hosts H1,H2` as named, or `split <vm> --count N` onto the default targets. */
export function splitRequest(
  topo: TopologyForPlacement,
  vmName: string,
  opts: { hosts?: string; count?: string },
): { vmId: string; targetHostIds: string[]; preview: PlacementPreview } {
  const source = findVm(topo, vmName);
  let targetHostIds: string[];
  if (opts.hosts) {
    targetHostIds = opts.hosts.split(",").filter(Boolean);
    if (opts.count !== undefined && Number(opts.count) !== targetHostIds.length)
      throw new UsageError(`--count ${opts.count} does not match the ${targetHostIds.length} hosts of --hosts; give one of them`);
  } else {
    const count = Number(opts.count);
    if (!Number.isInteger(count) || count < 2)
      throw new UsageError(`--count is the number of new VMs, 2 or more, not ${opts.count ?? '""'}`);
    targetHostIds = defaultSplitTargets(topo.hosts, source, count);
  }
  const preview = previewSplit({ hosts: topo.hosts, source, targetHostIds, application: applicationOf(topo, source) });
  if (preview.problems.length > 0) throw new PlacementRefused(preview);
  return { vmId: source.id, targetHostIds, preview };
}

/** `merge <vm> <vm>… [--host H]`: onto H, or onto the default target. */
export function mergeRequest(
  topo: TopologyForPlacement,
  vmNames: string[],
  host: string | undefined,
): { vmIds: string[]; targetHostId: string; preview: PlacementPreview } {
  const sources = vmNames.map((n) => findVm(topo, n));
  const targetHostId = host ?? defaultMergeTarget(topo.hosts, sources);
  const preview = previewMerge({ hosts: topo.hosts, sources, targetHostId, application: applicationOf(topo, sources[0]) });
  if (preview.problems.length > 0) throw new PlacementRefused(preview);
  return { vmIds: sources.map((s) => s.id), targetHostId, preview };
}

/** "#1 pm-2 2 vCPU 2731 MiB 22 actors", one line per new VM. */
export function targetLines(preview: PlacementPreview): string {
  return preview.targets
    .map((t, i) => `  #${i + 1} on ${t.hostId}: ${t.vcpus} vCPU, ${t.memoryMiB} MiB, ${t.actors} actors`)
    .join("\n");
}
