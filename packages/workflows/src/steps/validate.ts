import { checkPlanCapacity } from "../submit";
import { fx } from "../runtime";
import type { OperationContext } from "./context";

/** Validate & plan, again at run time: capacity may have changed since the request was accepted. */
export async function validateStep({ plan }: OperationContext) {
  await checkPlanCapacity(fx().db, plan);
  return { targets: plan.targets.length, sources: plan.sources.length };
}
