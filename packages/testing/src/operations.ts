import { TERMINAL_STATUSES } from "@malleo/core";
import { operationGet, type Db } from "@malleo/db";
import { waitFor, type WaitOptions } from "./wait";

/** Waits until the operation has ended (succeeded, failed or rolled back); returns it with its steps. */
export function waitForOperationEnd(db: Db, id: string, opts: WaitOptions = {}) {
  return waitFor(
    `operation ${id} to end`,
    async () => {
      const op = await operationGet(db, id);
      return op && (TERMINAL_STATUSES as readonly string[]).includes(op.status) ? op : undefined;
    },
    opts,
  );
}
