import { fx } from "../runtime";
import type { OperationContext } from "./context";

/** Barrier transfer only: every moved actor runs again, on its target. */
export async function resumeStep({ plan }: OperationContext) {
  for (const t of plan.targets) await fx().resumeActors(t.id, t.actors);
  return { resumed: plan.targets.reduce((n, t) => n + t.actors.length, 0), resumedAtMs: Date.now() };
}
