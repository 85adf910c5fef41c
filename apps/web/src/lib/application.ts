import { APPLICATION_ACTION_FROM, type ApplicationAction } from "@malleo/core";
import { shortId } from "./format";

/** What each lifecycle action does, on its button's title and in its confirmation. */
export const ACTION_LABELS: Record<ApplicationAction, string> = { stop: "Stop", start: "Start", delete: "Delete" };

/**
 * Why an action is not offered on this application now, in words (shown beside the disabled
 * button); null when it is. The server refuses the same cases (APPLICATION_ACTION_FROM, VM locks).
 */
export function applicationActionBlocker(
  action: ApplicationAction,
  app: { status: string },
  vms: readonly { lockedBy: string | null }[],
  canOperate: boolean,
): string | null {
  if (!canOperate) return "Your role is viewer: an operator stops, starts and deletes applications";
  if (app.status === "deleted") return "The application is deleted";
  if (!APPLICATION_ACTION_FROM[action].includes(app.status)) {
    if (action === "stop") return `Only a running application can be stopped (it is ${app.status})`;
    if (action === "start") return `Only a stopped application can be started (it is ${app.status})`;
  }
  const locked = vms.find((v) => v.lockedBy !== null)?.lockedBy;
  if (locked) return `Operation ${shortId(locked)} holds its VMs: wait for it to finish`;
  return null;
}

/** A free application id to suggest for a kind: the kind itself, else kind-2, kind-3… */
export function suggestedApplicationId(kind: string, taken: readonly string[]): string {
  const used = new Set(taken);
  if (!used.has(kind)) return kind;
  for (let i = 2; ; i++) if (!used.has(`${kind}-${i}`)) return `${kind}-${i}`;
}
