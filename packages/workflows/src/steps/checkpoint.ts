import type { OperationCheckpoint } from "../effects";
import { fx } from "../runtime";
import type { OperationContext } from "./context";

/**
 * Checkpoint: the whole application saved at a consistent cut just before Transfer — in a
 * barrier transfer at the cut Ready already made (the actors stay held), in a live one by the
 * checkpoint's own brief hold of every actor. Nothing has moved yet, so a failure here (the
 * actors do not reach a safe point, the write fails, the application is degraded) fails the
 * step with CHECKPOINT_FAILED and the operation rolls back: the targets are destroyed and the
 * application runs on where it was. Its detail is the checkpoint written (sequence, sha256,
 * size), or why none was needed.
 */
export async function checkpointStep({ operationId, plan, mode }: OperationContext): Promise<OperationCheckpoint> {
  const written = await fx().checkpointApplication(plan.applicationId, {
    operationId,
    kind: plan.kind,
    heldVms: mode === "barrier" ? plan.sources.map((s) => s.id) : [],
  });
  fx().log({ operationId, event: "checkpoint before transfer", ...written });
  return written;
}
