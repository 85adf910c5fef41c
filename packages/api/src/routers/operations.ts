import { AppError, mergeInput, operationKind, requestGuard, splitInput } from "@malleo/core";
import { operationGet, operationList, operationOperators, operationSearch } from "@malleo/db";
import { cancelOperation, decideReadyTimeout, submitMerge, submitSplit } from "@malleo/workflows";
import { z } from "zod";
import { migrationEstimates } from "../estimates";
import { migrationEstimatesOutput } from "../pause-estimate";
import { operationDetail, operationDetailOutput, operationOutput, operationStatus } from "../operation-detail";
import { createTRPCRouter, operatorProcedure, viewerProcedure } from "../trpc";

const operationId = z.uuid({ error: "an operation id is a UUID, as shown in History" });

const submittedOutput = z.object({ id: z.string(), kind: operationKind, status: operationStatus });

const dateInput = z.coerce.date({ error: "a date such as 2026-11-25 or 2026-11-25T13:00:00Z" });

export const searchInput = z
  .object({
    vm: z.string().trim().max(64).optional(),
    hostId: z.string().trim().max(64).optional(),
    operator: z.string().trim().max(64).optional(),
    kind: operationKind.optional(),
    statuses: z.array(operationStatus).max(6).optional(),
    from: dateInput.optional(),
    to: dateInput.optional(),
    page: z.number().int().min(1, { error: "pages start at 1" }).default(1),
    pageSize: z.number().int().min(1, { error: "pageSize is 1 to 500" }).max(500, { error: "pageSize is 1 to 500" }).default(25),
  })
  .strict()
  .refine((f) => !f.from || !f.to || f.from <= f.to, { error: "the time range ends before it starts", path: ["to"] });

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
  /**
   * Split one VM into `count` VMs, one per target host. The worker runs it; this only accepts it.
   * With `idempotencyKey` a replay answers with the same operation; past `deadline` it is refused.
   */
  split: operatorProcedure
    .input(splitInput)
    .output(submittedOutput)
    .mutation(({ ctx, input }) => submitSplit(ctx.db, input, ctx.user.name)),

  /** Merge two or more VMs of one application into one VM on the target host. */
  merge: operatorProcedure
    .input(mergeInput)
    .output(submittedOutput)
    .mutation(({ ctx, input }) => submitMerge(ctx.db, input, ctx.user.name)),

  /**
   * Asks the workflow to stop and roll back; refused once Transfer has completed. With an
   * idempotency key a replay of an accepted cancel answers the same; past its deadline it is refused.
   */
  cancel: operatorProcedure
    .input(z.object({ id: operationId, ...requestGuard }).strict())
    .output(z.object({ id: z.string(), cancelRequested: z.boolean() }))
    .mutation(({ ctx, input }) => cancelOperation(ctx.db, input.id, ctx.user.name, input)),

  /**
   * The operator's answer to a ready barrier that timed out: `extend` waits again for the actors
   * named, `abort` rolls the operation back. Refused (CONFLICT) unless the operation is waiting
   * on that barrier right now.
   */
  decideReadyTimeout: operatorProcedure
    .input(
      z
        .object({
          id: operationId,
          decision: z.enum(["extend", "abort"], { error: 'decision is "extend" (wait longer) or "abort" (roll back)' }),
        })
        .strict(),
    )
    .output(z.object({ id: z.string(), decision: z.enum(["extend", "abort"]), by: z.string() }))
    .mutation(({ ctx, input }) => decideReadyTimeout(ctx.db, input.id, input.decision, ctx.user.name)),

  /** One operation with its plan, step log, Transfer progress and the audited actions on it (who submitted, who cancelled). */
  get: viewerProcedure
    .input(z.object({ id: operationId }).strict())
    .output(operationDetailOutput)
    .query(async ({ ctx, input }) => {
      const op = await operationDetail(ctx.db, input.id);
      if (!op) throw new AppError("NOT_FOUND", `operation ${input.id} does not exist`, { operationId: input.id });
      return op;
    }),

  /** History: operations matching the filters, newest first, one page at a time with the total. */
  search: viewerProcedure
    .input(searchInput)
    .output(
      z.object({ items: z.array(operationOutput), total: z.number().int(), page: z.number().int(), pageSize: z.number().int() }),
    )
    .query(async ({ ctx, input }) => {
      const { page, pageSize, ...filter } = input;
      const r = await operationSearch(ctx.db, filter, { offset: (page - 1) * pageSize, limit: pageSize });
      return { ...r, page, pageSize };
    }),

  /** Everyone who has submitted an operation (History's operator filter). */
  operators: viewerProcedure.output(z.array(z.string())).query(({ ctx }) => operationOperators(ctx.db)),

  /** Measured migration speed and step durations of past operations, for the plan preview's pause estimate. */
  estimates: viewerProcedure.output(migrationEstimatesOutput).query(({ ctx }) => migrationEstimates(ctx.db)),

  /** Every operation, newest first; pass the returned `nextCursor` back for the next page. */
  list: viewerProcedure
    .input(listInput)
    .output(z.object({ items: z.array(operationOutput), nextCursor: z.string().nullable() }))
    .query(async ({ ctx, input }) => {
      // Prisma answers an unknown cursor with an empty page, which would read as "no older operations".
      if (input.cursor && !(await operationGet(ctx.db, input.cursor)))
        throw new AppError(
          "NOT_FOUND",
          `operation ${input.cursor} (the cursor) does not exist; start again from the first page`,
          {
            operationId: input.cursor,
          },
        );
      const rows = await operationList(ctx.db, { limit: input.limit, cursor: input.cursor ?? undefined });
      const items = rows.slice(0, input.limit);
      return { items, nextCursor: rows.length > input.limit ? (items.at(-1)?.id ?? null) : null };
    }),
});
