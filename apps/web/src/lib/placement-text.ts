import type { HostChoice, PlacementPreview, Resources } from "@malleo/core";
import { formatMiB } from "./format";

/**
 * Words for what `@malleo/core`'s placement preview decided (the rules live there, not here).
 */

/**
 * "pm-2 · free 4 slots, 8 vCPU, 16 GiB", or "pm-3 — unreachable, cannot be chosen" (libvirt's
 * reason can be long: `unchoosableNote` gives it beside the list, so the list stays narrow).
 */
export function hostChoiceLabel(choice: HostChoice): string {
  if (!choice.choosable) return `${choice.hostId} — ${choice.status}, cannot be chosen`;
  const { slots, vcpus, memoryMiB } = choice.free;
  return `${choice.hostId} · free ${slots} ${slots === 1 ? "slot" : "slots"}, ${vcpus} vCPU, ${formatMiB(memoryMiB)}`;
}

/**
 * How the source's resources are divided, as they really are: "divided evenly (2 vCPU · 4 GiB
 * each)" only when every new VM gets the same; else each target's share ("2/1/1 vCPU, 2731/2731/2730 MiB").
 */
export function divisionText(source: Resources, preview: PlacementPreview): string {
  const total = `${source.vcpus} vCPU · ${formatMiB(source.memoryMiB)}`;
  if (!preview.division) return `Its ${total} cannot be divided this way.`;
  const first = preview.targets[0]!;
  if (preview.division.even) return `Its ${total} are divided evenly: ${first.vcpus} vCPU · ${formatMiB(first.memoryMiB)} each.`;
  const memory = preview.targets.map((t) => t.memoryMiB);
  const memoryText = memory.every((m) => m % 1024 === 0)
    ? memory.map((m) => m / 1024).join("/") + " GiB"
    : `${memory.join("/")} MiB`;
  return `Its ${total} are divided as evenly as whole vCPUs and MiB allow: ${preview.targets.map((t) => t.vcpus).join("/")} vCPU, ${memoryText}.`;
}

/** "Not offered: pm-3 (unreachable: connection refused)." for the hosts that cannot be chosen, or null. */
export function unchoosableNote(choices: readonly HostChoice[]): string | null {
  const out = choices.filter((c) => !c.choosable);
  return out.length === 0 ? null : `Not offered: ${out.map((c) => `${c.hostId} (${c.reason ?? c.status})`).join(", ")}.`;
}
