import { AppError } from "../errors";
import { divideResources, sumResources, type Resources } from "../resources";
import { hostRoom, roomFits, type HostRoom, type Placement, type PlacementHost } from "./problems";

/** The resources of each new VM of a split, or empty when that division is refused. */
export function splitShares(source: Resources, count: number): Resources[] {
  try {
    return divideResources(source, count);
  } catch (e) {
    if (AppError.is(e)) return [];
    throw e;
  }
}

/**
 * Default targets of a split (the web dialog's and the CLI's): each new VM goes to the online
 * host with the most room left at that point — counting the new VMs already given to it — that
 * can take it (free slots, then hosts other than the source's so that a split spreads load, then
 * free vCPUs, then id).
 */
export function defaultSplitTargets(
  hosts: readonly PlacementHost[],
  source: Resources & { id: string; hostId: string },
  count: number,
): string[] {
  const shares = splitShares(source, count);
  const leaving = new Set([source.id]);
  const rooms = new Map(hosts.map((h) => [h.id, hostRoom(h, leaving)]));
  const candidates = hosts.filter((h) => h.status === "online");
  const targets: string[] = [];
  for (let i = 0; i < count; i++) {
    const share = shares[i] ?? { vcpus: 1, memoryMiB: 0 };
    const ranked = [...candidates].sort((a, b) => {
      const ra = rooms.get(a.id)!;
      const rb = rooms.get(b.id)!;
      return (
        Number(roomFits(rb, share)) - Number(roomFits(ra, share)) ||
        rb.slots - ra.slots ||
        Number(a.id === source.hostId) - Number(b.id === source.hostId) ||
        rb.vcpus - ra.vcpus ||
        a.id.localeCompare(b.id)
      );
    });
    const pick = ranked[0] ?? hosts[0];
    if (!pick) break;
    targets.push(pick.id);
    const room = rooms.get(pick.id)!;
    rooms.set(pick.id, { slots: room.slots - 1, vcpus: room.vcpus - share.vcpus, memoryMiB: room.memoryMiB - share.memoryMiB });
  }
  return targets;
}

/** The merge target a person most likely wants: a source's host that can take it, else the roomiest online host. */
export function defaultMergeTarget(
  hosts: readonly PlacementHost[],
  sources: readonly (Resources & { id: string; hostId: string })[],
): string {
  if (hosts.length === 0) return "";
  const leaving = new Set(sources.map((s) => s.id));
  const total = sumResources([...sources]);
  const online = hosts.filter((h) => h.status === "online");
  const canTake = online.filter((h) => roomFits(hostRoom(h, leaving), total));
  const sourceHosts = new Set(sources.map((s) => s.hostId));
  return (
    canTake.find((h) => sourceHosts.has(h.id))?.id ??
    [...canTake].sort((a, b) => hostRoom(b, leaving).vcpus - hostRoom(a, leaving).vcpus)[0]?.id ??
    online[0]?.id ??
    hosts[0]!.id
  );
}

/** One entry of a target-host choice list. */
export interface HostChoice {
  hostId: string;
  status: string;
  /** False for a host that is not online: no VM can be created there. */
  choosable: boolean;
  /** Why it cannot be chosen ("unreachable: connection refused"), or null. */
  reason: string | null;
  /** Free once the sources are gone and the operation's other new VMs on this host are placed. */
  free: HostRoom;
}

/**
 * The target hosts to offer for one new VM: what each has free counting the VMs that stay and
 * the operation's other new VMs already placed on it (`others`), and whether it can be chosen.
 */
export function hostChoices(
  hosts: readonly PlacementHost[],
  leaving: ReadonlySet<string>,
  others: readonly Placement[] = [],
): HostChoice[] {
  return hosts.map((h) => {
    const online = h.status === "online";
    return {
      hostId: h.id,
      status: h.status,
      choosable: online,
      reason: online ? null : `${h.status}${h.statusReason ? `: ${h.statusReason}` : ""}`,
      free: hostRoom(
        h,
        leaving,
        others.filter((p) => p.hostId === h.id).map((p) => p.resources),
      ),
    };
  });
}
