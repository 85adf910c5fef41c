/** Shapes `applications.communication` for the application page's heatmap, table and timeline (pure). */

export type CommunicationMode = "vm" | "group";

interface Pair {
  from: string;
  to: string;
  perSecond: number;
}

export interface CommunicationInput {
  vms: { id: string; name: string }[];
  latest: {
    totalPerSecond: number;
    crossVmPerSecond: number;
    vms: { vmId: string; actors: number }[];
    vmPairs: Pair[];
    groups: { first: number; last: number; actors: number }[];
    groupPairs: Pair[];
  } | null;
  history: { at: number; vms: { vmId: string; actors: number }[] }[];
}

export interface MatrixAxis {
  key: string;
  label: string;
  actors: number;
}

export interface MatrixCell {
  from: MatrixAxis;
  to: MatrixAxis;
  perSecond: number;
  /** Of all the application's messages. */
  share: number;
  /** 0 (none) … 1 (the busiest cell). */
  intensity: number;
  /** VM mode: the messages go from one VM to another. */
  crossesVms: boolean;
}

export interface CommunicationMatrix {
  axis: MatrixAxis[];
  /** rows[i][j]: from axis[i] to axis[j]. */
  rows: MatrixCell[][];
  /** Non-zero cells, busiest first: the table alternative. */
  ranked: MatrixCell[];
}

const nameOf = (vms: CommunicationInput["vms"], id: string) => vms.find((v) => v.id === id)?.name ?? id.slice(0, 8);

/** A group of ordinals as people read it: "actors 0–62" or "actor 7". */
export function groupLabel(g: { first: number; last: number }): string {
  return g.first === g.last ? `actor ${g.first}` : `actors ${g.first}–${g.last}`;
}

/** The matrix of the newest sample, between VMs or between actor groups; null before any sample. */
export function communicationMatrix(view: CommunicationInput, mode: CommunicationMode): CommunicationMatrix | null {
  const latest = view.latest;
  if (!latest) return null;
  const axis: MatrixAxis[] =
    mode === "vm"
      ? latest.vms
          .map((v) => ({ key: v.vmId, label: nameOf(view.vms, v.vmId), actors: v.actors }))
          .sort((a, b) => a.label.localeCompare(b.label, "en", { numeric: true }))
      : latest.groups.map((g, i) => ({ key: String(i), label: groupLabel(g), actors: g.actors }));
  const pairs = mode === "vm" ? latest.vmPairs : latest.groupPairs;
  const rate = new Map(pairs.map((p) => [`${p.from}\u0000${p.to}`, p.perSecond]));
  const max = Math.max(0, ...pairs.map((p) => p.perSecond));
  const total = latest.totalPerSecond;
  const rows = axis.map((from) =>
    axis.map((to) => {
      const perSecond = rate.get(`${from.key}\u0000${to.key}`) ?? 0;
      return {
        from,
        to,
        perSecond,
        share: total > 0 ? perSecond / total : 0,
        intensity: max > 0 ? perSecond / max : 0,
        crossesVms: mode === "vm" && from.key !== to.key,
      };
    }),
  );
  const ranked = rows
    .flat()
    .filter((c) => c.perSecond > 0)
    .sort((a, b) => b.perSecond - a.perSecond);
  return { axis, rows, ranked };
}

/** The share of messages that cross from one VM to another, 0 … 1; null with no messages. */
export function crossVmShare(latest: { totalPerSecond: number; crossVmPerSecond: number } | null): number | null {
  if (!latest || latest.totalPerSecond <= 0) return null;
  return Math.min(1, latest.crossVmPerSecond / latest.totalPerSecond);
}

/** What the share means for a split or a merge, in a sentence an operator can act on. */
export function splitAdvice(share: number | null, vmCount: number): string {
  if (share === null) return "No messages in the last interval: a split or merge changes no communication.";
  const pct = Math.round(share * 100);
  if (vmCount <= 1)
    return "All messages stay inside its one VM. A split makes the messages between actors placed on different new VMs cross the network: split where the heatmap between actor groups is empty.";
  if (share >= 0.5)
    return `${pct}% of messages cross VMs: its VMs are busy talking to each other. A merge would keep that traffic inside one VM; another split would add to it.`;
  return `${pct}% of messages cross VMs, ${100 - pct}% stay inside one: its actors are placed along their communication. A split along quiet boundaries (empty cells between actor groups) keeps it so.`;
}

export interface VmChange {
  at: number;
  /** The VMs with their actors at that moment, by name. */
  vms: { name: string; actors: number }[];
}

/** The samples at which the application's VMs, or their actor counts, changed (the first one included). */
export function vmChanges(view: CommunicationInput): VmChange[] {
  const changes: VmChange[] = [];
  let last = "";
  for (const h of view.history) {
    const vms = h.vms
      .map((v) => ({ name: nameOf(view.vms, v.vmId), actors: v.actors }))
      .sort((a, b) => a.name.localeCompare(b.name, "en", { numeric: true }));
    const key = JSON.stringify(vms);
    if (key !== last) changes.push({ at: h.at, vms });
    last = key;
  }
  return changes;
}

/** "1,234 msg/s", "0.4 msg/s". */
export function formatRate(perSecond: number): string {
  return `${perSecond >= 100 ? Math.round(perSecond).toLocaleString("en-US") : perSecond.toFixed(1)} msg/s`;
}
