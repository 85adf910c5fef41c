import { AppError, mergeInput, splitInput } from "@malleo/core";
import { operationGet, operationList } from "@malleo/db";
import { submitMerge, submitSplit } from "@malleo/workflows";
import { z } from "zod";
import { createTRPCRouter, publicProcedure } from "../trpc";

const operationId = z.uuid({ error: "an operation id is a UUID, as shown in History" });

// The plan is stored as JSON; parsing it here (input `unknown`) is what gives it a type.
const planOutput = z.unknown().pipe(
  z.object({
    kind: z.enum(["split", "merge"]),
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

const operationStatus = z.enum(["queued", "running", "rolling_back", "succeeded", "failed", "rolled_back"]);

const operationOutput = z.object({
  id: z.string(),
  kind: z.enum(["split", "merge"]),
  status: operationStatus,
  operator: z.string(),
  error: z.string().nullable(),
  plan: planOutput.nullable(),
  createdAt: z.date(),
  startedAt: z.date().nullable(),
  finishedAt: z.date().nullable(),
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

const submittedOutput = z.object({ id: z.string(), kind: z.enum(["split", "merge"]), status: operationStatus });

const listInput = z
  .object({
    limit: z
      .number()
      .int({ error: "limit is a whole number from 1 to 100" })
      .min(1, { error: "limit is a whole number from 1 to 100" })
      .max(100, { error: "limit is a whole number from 1 to 100" })
      .default(25),
    cursor: operationId.nullish(),
    // Infinite-query clients send it; pages only go forward (older operations).
    direction: z.enum(["forward", "backward"]).optional(),
  })
  .strict();

export const operationsRouter = createTRPCRouter({
  /** Split one VM into `count` VMs, one per target host. The worker runs it; this only accepts it. */
  split: publicProcedure
    .input(splitInput)
    .output(submittedOutput)
    .mutation(({ ctx, input }) => submitSplit(ctx.db, input, ctx.operator)),

  /** Merge two or more VMs of one application into one VM on the target host. */
  merge: publicProcedure
    .input(mergeInput)
    .output(submittedOutput)
    .mutation(({ ctx, input }) => submitMerge(ctx.db, input, ctx.operator)),

  /** One operation with its plan and step log. */
  get: publicProcedure
    .input(z.object({ id: operationId }).strict())
    .output(operationOutput.extend({ steps: z.array(stepOutput) }))
    .query(async ({ ctx, input }) => {
      const op = await operationGet(ctx.db, input.id);
      if (!op) throw new AppError("NOT_FOUND", `operation ${input.id} does not exist`, { operationId: input.id });
      return op;
    }),

  /** Every operation, newest first; pass the returned `nextCursor` back for the next page. */
  list: publicProcedure
    .input(listInput)
    .output(z.object({ items: z.array(operationOutput), nextCursor: z.string().nullable() }))
    .query(async ({ ctx, input }) => {
      const rows = await operationList(ctx.db, { limit: input.limit, cursor: input.cursor ?? undefined });
      const items = rows.slice(0, input.limit);
      return { items, nextCursor: rows.length > input.limit ? (items.at(-1)?.id ?? null) : null };
    }),
});
