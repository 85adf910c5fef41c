import { OPERATION_STATUSES, TRANSFER_MODES, operationKind, operationTransferMode } from "@malleo/core";
import { auditList, operationGet, type Db } from "@malleo/db";
import { z } from "zod";
import { migrationEstimates, transferProgress } from "./estimates";
import { sanitizeForRecord } from "./input-guard";

// The plan is stored as JSON; parsing it here (input `unknown`) is what gives it a type.
export const planOutput = z.unknown().pipe(
  z.object({
    kind: operationKind,
    applicationId: z.string(),
    sources: z.array(z.object({ id: z.string(), name: z.string(), hostId: z.string() })),
    targets: z.array(
      z.object({
        id: z.string().optional(),
        name: z.string(),
        hostId: z.string(),
        vcpus: z.number().int(),
        memoryMiB: z.number().int(),
        actors: z.array(z.string()),
      }),
    ),
  }),
);

export const operationStatus = z.enum(OPERATION_STATUSES);

export const operationOutput = z.object({
  id: z.string(),
  kind: operationKind,
  status: operationStatus,
  operator: z.string(),
  error: z.string().nullable(),
  plan: planOutput.nullable(),
  createdAt: z.date(),
  startedAt: z.date().nullable(),
  finishedAt: z.date().nullable(),
  cancelRequestedAt: z.date().nullable(),
  cancelledBy: z.string().nullable(),
  waitingReason: z.string().nullable(),
  /** "live" or "barrier"; null for operations accepted before transfer modes existed (they ran as a barrier). */
  transferMode: z
    .string()
    .nullable()
    .pipe(z.enum(["live", "barrier"]).nullable()),
  /** The application's pause (longest stretch without progress less its normal gap) and the actors' hold times, ms. */
  pauseMs: z.number().nullable(),
  holdP50Ms: z.number().nullable(),
  holdP99Ms: z.number().nullable(),
  holdMaxMs: z.number().nullable(),
});

const stepOutput = z.object({
  name: z.string(),
  status: z.enum(["running", "succeeded", "failed", "compensated"]),
  attempt: z.number().int(),
  detail: z.unknown(),
  error: z.string().nullable(),
  startedAt: z.date(),
  finishedAt: z.date().nullable(),
});

const progressOutput = z.object({
  actorsTotal: z.number().int(),
  actorsMoved: z.number().int(),
  bytesTotal: z.number().nullable(),
  bytesMoved: z.number().nullable(),
  estimated: z.boolean(),
});

export const auditOutput = z.object({
  id: z.bigint(),
  at: z.date(),
  actor: z.string(),
  procedure: z.string(),
  // Rows written before inputs were sanitised may hold keys superjson refuses: sanitise on read too.
  input: z.unknown().transform(sanitizeForRecord),
  ok: z.boolean(),
  error: z.string().nullable(),
  operationId: z.string().nullable(),
  /** "session" or "token"; null for the worker's records and rows from before it was kept. */
  via: z.string().nullable(),
  /** What the action was on, in words; null where the operation id says it. */
  target: z.string().nullable(),
});

/** What the operation page shows: operations.get returns it, and live events carry it. */
export const operationDetailOutput = operationOutput.extend({
  /** How actors move, as submitted (operations recorded before the choice existed moved live). */
  transfer: z.enum(TRANSFER_MODES),
  /** The operator's answer to a timed-out ready barrier, until the workflow has acted on it. */
  readyDecision: z.enum(["extend", "abort"]).nullable(),
  steps: z.array(stepOutput),
  progress: progressOutput.nullable(),
  audit: z.array(auditOutput),
});

export type OperationDetail = z.infer<typeof operationDetailOutput>;

/** One operation with its plan, step log, Transfer progress and the audited actions on it; null when it does not exist. */
export async function operationDetail(db: Db, id: string): Promise<OperationDetail | null> {
  const op = await operationGet(db, id);
  if (!op) return null;
  const plan = planOutput.nullable().parse(op.plan);
  const transfer = op.steps.filter((s) => s.name === "transfer").at(-1);
  const [progress, audit] = await Promise.all([
    transferProgress(db, plan, transfer, async () => (await migrationEstimates(db)).bytesPerActor),
    auditList(db, { operationId: op.id }, { offset: 0, limit: 100 }),
  ]);
  return operationDetailOutput.parse({
    ...op,
    transfer: operationTransferMode(op),
    readyDecision: op.readyDecision === "extend" || op.readyDecision === "abort" ? op.readyDecision : null,
    progress,
    audit: audit.items,
  });
}
