import { createTRPCRouter, viewerProcedure } from "../trpc";
import { vmCpu, vmCpuInput, vmCpuOutput, vmDetail, vmDetailInput, vmDetailOutput } from "../vm-detail";

export const vmsRouter = createTRPCRouter({
  /** A VM's page: resources, host, application, a window of its actors and every operation it took part in. NOT_FOUND for an unknown id. */
  get: viewerProcedure
    .input(vmDetailInput)
    .output(vmDetailOutput)
    .query(({ ctx, input }) => vmDetail(ctx.db, input)),

  /** The VM's CPU samples over the last `minutes`, oldest first (a deleted VM's too, while they are kept). */
  cpu: viewerProcedure
    .input(vmCpuInput)
    .output(vmCpuOutput)
    .query(({ ctx, input }) => vmCpu(ctx.db, input)),
});
