import { createTRPCRouter, viewerProcedure } from "../trpc";

export const eventsRouter = createTRPCRouter({
  /**
   * Live changes (topology, operation progress, application iterations) as server-sent events.
   * Clients refetch what an event names; on (re)connect they refetch everything they show.
   */
  stream: viewerProcedure.subscription(async function* ({ ctx, signal }) {
    yield* ctx.events.stream(signal);
  }),
});
