import { createTRPCRouter, viewerProcedure } from "../trpc";
import { vmDetail, vmDetailInput, vmDetailOutput } from "../vm-detail";

export const vmsRouter = createTRPCRouter({
  /** A VM's page: resources, host, application, a window of its actors, its CPU and every operation it took part in. NOT_FOUND for an unknown id. */
  get: viewerProcedure
    .input(vmDetailInput)
    .output(vmDetailOutput)
    .query(({ ctx, input }) => vmDetail(ctx.db, input)),
});
