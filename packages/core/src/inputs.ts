import { z } from "zod";

const vmId = z.uuid({ error: "a VM id is a UUID, as listed by the topology" });
const hostId = z.string().min(1, { error: "a host id is required" }).max(64, { error: "a host id has at most 64 characters" });

/**
 * How actors move. `live` (the default): each actor is held only while it itself moves, the
 * rest keep running. `barrier`: every source actor reaches its safe point, all move, all resume
 * (a consistent cut, for applications that need one).
 */
export const TRANSFER_MODES = ["live", "barrier"] as const;
export type TransferMode = (typeof TRANSFER_MODES)[number];
const isTransferMode = (m: unknown): m is TransferMode => (TRANSFER_MODES as readonly unknown[]).includes(m);
/**
 * An operation's transfer mode, the one reading of it: the `transfer_mode` column, written at
 * submit; for a row without it, the mode its input asked for; for an operation accepted before
 * transfer modes existed (neither), "barrier", which is how it ran.
 */
export function operationTransferMode(op: { transferMode: string | null; input: unknown }): TransferMode {
  if (isTransferMode(op.transferMode)) return op.transferMode;
  const asked = (op.input as { transfer?: unknown } | null)?.transfer;
  return isTransferMode(asked) ? asked : "barrier";
}

const transferMode = z.enum(TRANSFER_MODES, { error: 'transfer is "live" or "barrier"' }).default("live");

/**
 * What a client may add to a split, merge or cancel so that a retry cannot act twice and a late
 * arrival cannot act at all: a key of its own making (a replay with the same key answers with the
 * same operation), and the time (ms since the epoch, the server's clock) after which the request
 * must be refused unchanged.
 */
export const requestGuard = {
  idempotencyKey: z
    .string()
    .regex(/^[A-Za-z0-9_-]{16,100}$/, { error: "an idempotency key is 16 to 100 letters, digits, '-' or '_' (a UUID will do)" })
    .optional(),
  deadline: z
    .number({ error: "deadline is a time in milliseconds since 1970 (Date.now() + a timeout)" })
    .int({ error: "deadline is a time in milliseconds since 1970 (Date.now() + a timeout)" })
    .positive({ error: "deadline is a time in milliseconds since 1970 (Date.now() + a timeout)" })
    .optional(),
};
export interface RequestGuard {
  idempotencyKey?: string;
  deadline?: number;
}

export const splitInput = z
  .object({
    vmId,
    count: z
      .number({ error: "count must be a whole number from 2 up to the VM's vCPUs" })
      .int({ error: "count must be a whole number from 2 up to the VM's vCPUs" })
      .min(2, { error: "a split makes at least 2 VMs" })
      .max(64, { error: "a split makes at most 64 VMs" }),
    targetHostIds: z.array(hostId).min(1, { error: "name a target host for each new VM" }).max(64),
    transfer: transferMode,
    ...requestGuard,
  })
  .strict()
  .refine((v) => v.targetHostIds.length === v.count, {
    error: "give exactly one target host per new VM (targetHostIds.length must equal count)",
    path: ["targetHostIds"],
  });
export type SplitInput = z.infer<typeof splitInput>;

export const mergeInput = z
  .object({
    vmIds: z
      .array(vmId)
      .min(2, { error: "a merge needs at least 2 VMs" })
      .max(64, { error: "a merge takes at most 64 VMs" })
      .refine((ids) => new Set(ids).size === ids.length, { error: "each VM may be named only once" }),
    targetHostId: hostId,
    transfer: transferMode,
    ...requestGuard,
  })
  .strict();
export type MergeInput = z.infer<typeof mergeInput>;
