import type { HostChoice, PlacementPreview, Resources } from "@malleo/core";
import { formatMiB } from "./format";

/**
 * Words for what `@malleo/core`'s placement preview decided (the rules live there, not here).
 */

/** "pm-2 · free 4 slots, 8 vCPU, 16 GiB", or "pm-3 — unreachable: connection refused; cannot be chosen". */
export function hostChoiceLabel(choice: HostChoice): string {
  if (!choice.choosable) return `${choice.hostId} — ${choice.reason ?? choice.status}; cannot be chosen`;
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
