/** What a VM is doing, as its card says it: a split's or merge's source and target are told apart. */

export interface VmActivityView {
  state: string;
  lockedBy: string | null;
  createdBy: string | null;
  actorCount: number;
}

export interface VmActivity {
  /** "running", "moving_out", "receiving", … (the badge's data-activity). */
  key: string;
  label: string;
  tone: "ok" | "info" | "warn" | "bad" | "neutral";
  busy: boolean;
  /** The VM's role in the operation holding it, if any. */
  role: "source" | "target" | null;
}

const AT_REST: Record<string, Omit<VmActivity, "role">> = {
  running: { key: "running", label: "Running", tone: "ok", busy: false },
  provisioning: { key: "provisioning", label: "Provisioning", tone: "info", busy: true },
  deleting: { key: "deleting", label: "Deleting", tone: "warn", busy: true },
  failed: { key: "failed", label: "Failed", tone: "bad", busy: false },
  lost: { key: "lost", label: "Lost", tone: "bad", busy: false },
};

/**
 * A VM held by an operation is that operation's target when the operation created it, else one
 * of its sources. A source still holding actors is "Moving out" and an emptied one "Emptied";
 * a target is "Provisioning" until it exists and then "Receiving" as actors arrive.
 */
export function vmActivity(vm: VmActivityView): VmActivity {
  const rest = {
    ...(AT_REST[vm.state] ?? { key: vm.state, label: vm.state, tone: "neutral" as const, busy: false }),
    role: null,
  };
  if (!vm.lockedBy || vm.state === "failed" || vm.state === "lost") return rest;
  if (vm.createdBy === vm.lockedBy) {
    if (vm.state === "provisioning" && vm.actorCount === 0) return { ...rest, role: "target" };
    if (vm.state === "deleting") return { ...rest, role: "target" };
    return { key: "receiving", label: "Receiving", tone: "info", busy: true, role: "target" };
  }
  if (vm.state === "deleting") return { ...rest, role: "source" };
  if (vm.actorCount === 0) return { key: "emptied", label: "Emptied", tone: "neutral", busy: false, role: "source" };
  return { key: "moving_out", label: "Moving out", tone: "warn", busy: true, role: "source" };
}
