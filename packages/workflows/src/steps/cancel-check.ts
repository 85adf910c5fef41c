import { AppError } from "@malleo/core";
import { operationGetCancelRequest } from "@malleo/db";
import { durably } from "../recorded-step";
import { fx } from "../runtime";

/** The operator's cancel request, or null. */
export async function cancelRequestedBy(operationId: string): Promise<string | null> {
  return (await operationGetCancelRequest(fx().db, operationId))?.by ?? null;
}

/** A recorded read of the operator's cancel request; throws CANCELLED when there is one. */
export async function throwIfCancelled(operationId: string, before: string): Promise<void> {
  const by = await durably(`cancel-check:${before}`, () => cancelRequestedBy(operationId));
  if (by) throw new AppError("CANCELLED", `cancelled by ${by} before ${before}`, { by });
}
