import { topologyGet } from "@malleo/db";
import { z } from "zod";
import { createTRPCRouter, viewerProcedure } from "../trpc";

const actorOutput = z.object({ uan: z.string(), ordinal: z.number().int(), behavior: z.string() });

const vmOutput = z.object({
  id: z.string(),
  name: z.string(),
  hostId: z.string(),
  applicationId: z.string(),
  vcpus: z.number().int(),
  memoryMiB: z.number().int(),
  state: z.enum(["provisioning", "running", "deleting", "deleted", "failed"]),
  lockedBy: z.string().nullable(),
  createdAt: z.date(),
  actors: z.array(actorOutput),
});

const hostOutput = z.object({
  id: z.string(),
  name: z.string(),
  cpus: z.number().int(),
  memoryMiB: z.number().int(),
  vmQuota: z.number().int(),
  status: z.enum(["online", "unreachable"]),
  vms: z.array(vmOutput),
});

const applicationOutput = z.object({
  id: z.string(),
  kind: z.string(),
  iteration: z.number().int(),
  updatedAt: z.date(),
});

export const topologyOutput = z.object({
  hosts: z.array(hostOutput),
  applications: z.array(applicationOutput),
});

export const topologyRouter = createTRPCRouter({
  /** Hosts → their live VMs → the actors inside, and each application's iteration counter. */
  get: viewerProcedure.output(topologyOutput).query(({ ctx }) => topologyGet(ctx.db)),
});
