import { existsSync } from "node:fs";
import type { OperationEffects } from "@malleo/workflows/worker";

/**
 * Tests only (`MALLEO_TEST_HOLD_READY_FILE`): while the named file exists, no actor reaches its
 * safe point — the ready barrier waits its timeout and reports every actor asked as not ready,
 * without asking the theaters. Once the file is gone the real barrier runs (for what is left of
 * the timeout). The e2e suite uses it to make a barrier time out on demand.
 */
export function holdReadyWhileFileExists(file: string, pollMs = 50): (effects: OperationEffects) => OperationEffects {
  return (effects) => ({
    ...effects,
    awaitActorsReady: async (vmId, uans, timeoutMs) => {
      const deadline = Date.now() + timeoutMs;
      while (existsSync(file)) {
        if (Date.now() >= deadline) return { ready: [], notReady: [...uans] };
        await new Promise((r) => setTimeout(r, Math.min(pollMs, Math.max(1, deadline - Date.now()))));
      }
      return effects.awaitActorsReady(vmId, uans, Math.max(1, deadline - Date.now()));
    },
  });
}
