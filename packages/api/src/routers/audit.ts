import { auditFacets, auditList } from "@malleo/db";
import { AppError } from "@malleo/core";
import { z } from "zod";
import { auditOutput } from "../operation-detail";
import { createTRPCRouter, viewerProcedure } from "../trpc";

export const auditRouter = createTRPCRouter({
  /** Every API mutation (who, when, procedure, input with secrets redacted, outcome), newest first. */
  list: viewerProcedure
    .input(
      z
        .object({
          actor: z.string().trim().max(64).optional(),
          procedure: z.string().trim().max(64).optional(),
          operationId: z.uuid().optional(),
          from: z.coerce.date().optional(),
          to: z.coerce.date().optional(),
          ok: z.boolean().optional(),
          page: z.number().int().min(1).default(1),
          pageSize: z.number().int().min(1).max(500).default(50),
        })
        .strict(),
    )
    .output(
      z.object({
        items: z.array(auditOutput),
        total: z.number().int(),
      }),
    )
    .query(({ ctx, input }) => {
      const { page, pageSize, ...filter } = input;
      if (filter.from && filter.to && filter.to < filter.from)
        throw new AppError("INVALID_INPUT", "to: the time range ends before it starts");
      return auditList(ctx.db, filter, { offset: (page - 1) * pageSize, limit: pageSize });
    }),

  /** Who appears in the log and which actions, for its filters. */
  facets: viewerProcedure
    .output(z.object({ actors: z.array(z.string()), procedures: z.array(z.string()) }))
    .query(({ ctx }) => auditFacets(ctx.db)),
});
