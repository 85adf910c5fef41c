/** Pure: the items of a VM's actions menu, each disabled one with the reason said in plain words. */

import { mergeBlocker, splitBlocker } from "@malleo/core";

export interface ActionVm {
  id: string;
  name: string;
  state: string;
  lockedBy: string | null;
  vcpus: number;
  applicationId: string;
}

export interface ActionApplication {
  id: string;
  status: string;
  statusReason?: string | null;
  autoRecovery?: boolean;
}

export type VmActionKey = "split" | "merge" | "open";

export interface VmActionItem {
  key: VmActionKey;
  label: string;
  /** Why the item cannot be chosen now, shown beside it; null when it can. */
  disabledReason: string | null;
}

/** Short reasons for the menu (the dialogs and the server give the long ones). */
function vmReason(vm: ActionVm, app: ActionApplication | undefined, what: "split" | "merge"): string | null {
  if (app?.status === "stopped") return `application ${app.id} is stopped; start it first`;
  if (app?.status === "deleted") return `application ${app.id} is deleted`;
  if (vm.lockedBy) return `locked by operation ${vm.lockedBy.slice(0, 8)}`;
  if (vm.state !== "running") return `VM is ${vm.state}, not running`;
  if (app?.status === "degraded") return `application ${app.id} is degraded; restore it first`;
  const blocker = what === "split" ? splitBlocker(vm, app) : mergeBlocker(vm, app);
  if (blocker?.code === "SPLIT_TOO_SMALL") return "only one vCPU: nothing to divide";
  return blocker?.message ?? null;
}

/**
 * Split, Merge and Open VM page for one VM. `siblings` are the other VMs of its application;
 * `canOperate` is false for a viewer; `onPage` leaves out "Open VM page" on the VM's own page.
 */
export function vmActionItems(opts: {
  vm: ActionVm;
  application: ActionApplication | undefined;
  siblings: readonly ActionVm[];
  canOperate: boolean;
  onPage?: boolean;
}): VmActionItem[] {
  const { vm, application, siblings, canOperate } = opts;
  const split = canOperate ? vmReason(vm, application, "split") : "viewer role cannot split";
  let merge = canOperate ? vmReason(vm, application, "merge") : "viewer role cannot merge";
  if (!merge && !siblings.some((s) => s.id !== vm.id && s.state === "running" && !s.lockedBy))
    merge = `no other running, unlocked VM of ${vm.applicationId} to merge with`;
  const items: VmActionItem[] = [
    { key: "split", label: "Split…", disabledReason: split },
    { key: "merge", label: "Merge…", disabledReason: merge },
  ];
  if (!opts.onPage) items.push({ key: "open", label: "Open VM page", disabledReason: null });
  return items;
}
