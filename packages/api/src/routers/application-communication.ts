import { AppError } from "@malleo/core";
import { applicationGet, applicationProgressOf, communicationSince, vmListByIds } from "@malleo/db";
import { z } from "zod";
import { bucketRates, throughputSeries } from "../charts";
import { viewerProcedure } from "../trpc";

const pair = z.object({ from: z.string(), to: z.string(), perSecond: z.number() });
const vmActors = z.object({ vmId: z.string(), actors: z.number().int() });

const communicationOutput = z.object({
  applicationId: z.string(),
  /** Every VM the samples of the window name; deleted: it no longer exists (a split's source). */
  vms: z.array(z.object({ id: z.string(), name: z.string(), hostId: z.string(), deleted: z.boolean() })),
  /** The newest sample: messages per second between VMs and between actor groups over its interval. Null until the worker has two readings. */
  latest: z
    .object({
      at: z.date(),
      intervalMs: z.number().int(),
      totalPerSecond: z.number(),
      crossVmPerSecond: z.number(),
      /** Actors left out of this interval because their counters began or went back (first seen, restored). */
      resetActors: z.number().int(),
      vms: z.array(vmActors),
      vmPairs: z.array(pair),
      groups: z.array(z.object({ first: z.number().int(), last: z.number().int(), actors: z.number().int() })),
      /** `from`/`to`: index in `groups`. */
      groupPairs: z.array(pair),
    })
    .nullable(),
  /** Each sample of the window, oldest first: messages/s, what crossed VMs, and the actors on each VM. */
  history: z.array(
    z.object({ at: z.number(), totalPerSecond: z.number(), crossVmPerSecond: z.number(), vms: z.array(vmActors) }),
  ),
  /** Progress per second over the window (heat: iterations; crawler: pages). */
  throughput: z.array(z.object({ at: z.number(), rate: z.number() })),
});

/**
 * An application's communication as the worker sampled it from the theaters' message counters
 * (apps/worker/src/communication-sampler.ts), with its VMs and throughput over the same window.
 * Part of the `applications` router (routers/applications.ts).
 */
export const applicationCommunicationProcedures = {
  communication: viewerProcedure
    .input(z.object({ applicationId: z.string().min(1).max(200), minutes: z.number().int().min(1).max(60).default(15) }).strict())
    .output(communicationOutput)
    .query(async ({ ctx, input }) => {
      const { applicationId, minutes } = input;
      if (!(await applicationGet(ctx.db, applicationId)))
        throw new AppError("NOT_FOUND", `application ${applicationId} does not exist; the topology lists the applications`, {
          applicationId,
        });
      const since = new Date(Date.now() - minutes * 60_000);
      const [samples, progress] = await Promise.all([
        communicationSince(ctx.db, applicationId, since),
        applicationProgressOf(ctx.db, applicationId, since),
      ]);
      const vms = await vmListByIds(ctx.db, [...new Set(samples.flatMap((s) => s.vms.map((v) => v.vmId)))]);
      const latest = samples.at(-1) ?? null;
      const points = throughputSeries(progress)[0]?.points ?? [];
      return {
        applicationId,
        vms: vms.map((v) => ({ id: v.id, name: v.name, hostId: v.hostId, deleted: v.state === "deleted" })),
        latest,
        history: samples.map((s) => ({
          at: s.at.getTime(),
          totalPerSecond: s.totalPerSecond,
          crossVmPerSecond: s.crossVmPerSecond,
          vms: s.vms,
        })),
        throughput: bucketRates(points, Math.max(1000, Math.round((minutes * 60_000) / 300))),
      };
    }),
};
