import { operationKind } from "@malleo/core";
import { applicationProgressSince, operationSearch, stepDurations, vmCpuSamplesSince, vmListByIds } from "@malleo/db";
import { z } from "zod";
import { bucketRates, throughputSeries } from "../charts";
import { createTRPCRouter, viewerProcedure } from "../trpc";

const windowInput = z
  .object({
    minutes: z
      .number()
      .int()
      .min(1)
      .max(24 * 60)
      .default(30),
  })
  .strict();
const since = (minutes: number) => new Date(Date.now() - minutes * 60_000);
const bucketFor = (minutes: number) => Math.max(1000, Math.round((minutes * 60_000) / 300));

export const chartsRouter = createTRPCRouter({
  /** CPU usage per VM over the window, from vm_cpu_samples (empty until the worker records samples). */
  cpu: viewerProcedure
    .input(windowInput)
    .output(
      z.object({
        /** deleted: the VM no longer exists (a split's source, a merge's sources); its line is hidden by default. */
        vms: z.array(z.object({ id: z.string(), name: z.string(), deleted: z.boolean() })),
        samples: z.array(z.object({ vmId: z.string(), at: z.date(), cpuPercent: z.number() })),
      }),
    )
    .query(async ({ ctx, input }) => {
      const samples = await vmCpuSamplesSince(ctx.db, since(input.minutes));
      const vms = await vmListByIds(ctx.db, [...new Set(samples.map((s) => s.vmId))]);
      return { vms: vms.map((v) => ({ id: v.id, name: v.name, deleted: v.state === "deleted" })), samples };
    }),

  /** Application throughput (iterations/s) with each split and merge of the window marked. */
  throughput: viewerProcedure
    .input(windowInput)
    .output(
      z.object({
        series: z.array(z.object({ applicationId: z.string(), points: z.array(z.object({ at: z.number(), rate: z.number() })) })),
        markers: z.array(
          z.object({
            operationId: z.string(),
            kind: operationKind,
            status: z.string(),
            /** When it finished (or started, while running): kept for older clients. */
            at: z.number(),
            /** The span it ran over: from its start to its finish, null while it runs. */
            startAt: z.number(),
            endAt: z.number().nullable(),
            operator: z.string(),
          }),
        ),
      }),
    )
    .query(async ({ ctx, input }) => {
      const from = since(input.minutes);
      const [samples, ops] = await Promise.all([
        applicationProgressSince(ctx.db, from),
        operationSearch(ctx.db, { from }, { offset: 0, limit: 500 }),
      ]);
      const bucket = bucketFor(input.minutes);
      return {
        series: throughputSeries(samples).map((s) => ({ ...s, points: bucketRates(s.points, bucket) })),
        markers: ops.items.map((o) => ({
          operationId: o.id,
          kind: o.kind,
          status: o.status,
          at: (o.finishedAt ?? o.startedAt ?? o.createdAt).getTime(),
          startAt: (o.startedAt ?? o.createdAt).getTime(),
          endAt: o.finishedAt?.getTime() ?? null,
          operator: o.operator,
        })),
      };
    }),

  /** Duration of each step across the last `limit` operations (oldest first). */
  stepDurations: viewerProcedure
    .input(z.object({ limit: z.number().int().min(1).max(200).default(30) }).strict())
    .output(
      z.array(
        z.object({
          operationId: z.string(),
          kind: operationKind,
          createdAt: z.date(),
          name: z.string(),
          status: z.string(),
          ms: z.number(),
        }),
      ),
    )
    .query(async ({ ctx, input }) => (await stepDurations(ctx.db, input.limit)).map(({ detail: _detail, ...r }) => r)),
});
