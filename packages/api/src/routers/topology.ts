import { topologySummary } from "@malleo/db";
import { z } from "zod";
import { createTRPCRouter, viewerProcedure } from "../trpc";
import { vmActorOutput, vmSummaryOutput } from "../vm-detail";

const vmOutput = vmSummaryOutput.extend({
  hostId: z.string(),
  applicationId: z.string(),
  actorCount: z.number().int(),
  firstOrdinal: z.number().int().nullable(),
  lastOrdinal: z.number().int().nullable(),
  /** The latest CPU sample (percent of the VM's vCPUs), null without a recent sample. */
  cpuPercent: z.number().nullable(),
  /** Each actor while the whole topology has few (see actorsDetailed); empty past that. */
  actors: z.array(vmActorOutput),
});

const hostOutput = z.object({
  id: z.string(),
  name: z.string(),
  cpus: z.number().int(),
  memoryMiB: z.number().int(),
  vmQuota: z.number().int(),
  /** Placement may use cpus × cpuOvercommit and memoryMiB × memoryOvercommit (hosts.update). */
  cpuOvercommit: z.number(),
  memoryOvercommit: z.number(),
  status: z.enum(["online", "unreachable"]),
  /** libvirt's error while unreachable (why no VM can be placed there), else null. */
  statusReason: z.string().nullable(),
  vms: z.array(vmOutput),
});

const applicationOutput = z.object({
  id: z.string(),
  kind: z.string(),
  iteration: z.number().int(),
  updatedAt: z.date(),
  /** degraded while some actors are lost (a theater stopped answering); the reason says what and from which checkpoint. */
  status: z.enum(["running", "degraded", "stopped", "deleted"]),
  statusReason: z.string().nullable(),
  /** Off: a degraded application stays degraded until an operator restores it. */
  autoRecovery: z.boolean(),
});

export const topologyOutput = z.object({
  hosts: z.array(hostOutput),
  applications: z.array(applicationOutput),
  /** False past ACTOR_DETAIL_LIMIT actors: VMs then carry counts and ordinal ranges only. */
  actorsDetailed: z.boolean(),
  totalActors: z.number().int(),
});

export const topologyRouter = createTRPCRouter({
  /** Hosts → their live VMs (actor counts, CPU) → the actors inside while few, and each application's iteration counter. */
  get: viewerProcedure.output(topologyOutput).query(({ ctx }) => topologySummary(ctx.db)),
});
