import {
  AppError,
  checkHostRemovable,
  checkHostSettings,
  hostRegisterInput,
  hostRemoveInput,
  hostTestInput,
  hostUpdateInput,
  hostUriPolicyFromEnv,
  hostUriPolicyProblem,
  hostUse,
  placeableCapacity,
} from "@malleo/core";
import {
  UniqueViolation,
  hostCreate,
  hostGetWithUsage,
  hostListByUri,
  hostListWithUsage,
  hostRemove,
  hostUpdateSettings,
  publishEvent,
  type Db,
} from "@malleo/db";
import path from "node:path";
import { z } from "zod";
import { hostProbeOutput, probeHostThroughWorker } from "../host-probe";
import { adminProcedure, createTRPCRouter, viewerProcedure } from "../trpc";

const hostOutput = z.object({
  id: z.string(),
  name: z.string(),
  uri: z.string(),
  /** Physical capacity from libvirt (0 until the worker has reached the host). */
  cpus: z.number().int(),
  memoryMiB: z.number().int(),
  vmQuota: z.number().int(),
  cpuOvercommit: z.number(),
  memoryOvercommit: z.number(),
  /** What placement may use: capacity × overcommit. */
  placeable: z.object({ vcpus: z.number().int(), memoryMiB: z.number().int() }),
  used: z.object({ vms: z.number().int(), vcpus: z.number().int(), memoryMiB: z.number().int() }),
  status: z.enum(["online", "unreachable"]),
  statusReason: z.string().nullable(),
  accelerator: z.string().nullable(),
  createdAt: z.date(),
  vms: z.array(z.object({ id: z.string(), name: z.string(), state: z.string() })),
});

type HostRow = Awaited<ReturnType<typeof hostListWithUsage>>[number];

function hostView(h: HostRow): z.infer<typeof hostOutput> {
  return {
    ...h,
    placeable: placeableCapacity(h),
    used: hostUse(h.vms),
    vms: h.vms.map((v) => ({ id: v.id, name: v.name, state: v.state })),
  };
}

async function hostById(db: Db, id: string): Promise<z.infer<typeof hostOutput>> {
  const host = await hostGetWithUsage(db, id);
  if (!host) notFound(id);
  return hostView(host);
}

/** This process's URI rules beyond the form (simulated hosts only where enabled, files only in the data directory). */
function refuseByPolicy(uri: string): void {
  const policyProblem = hostUriPolicyProblem(
    uri,
    hostUriPolicyFromEnv(process.env, (p) => path.resolve(p)),
  );
  if (policyProblem) throw new AppError("INVALID_INPUT", `uri: ${policyProblem}`, { field: "uri" });
}

function notFound(id: string): never {
  throw new AppError("NOT_FOUND", `host ${id} is not registered; the hosts list shows which are`, { hostId: id });
}

/** Hosts (physical machines): listed for everyone, registered, changed and removed by admins. */
export const hostsRouter = createTRPCRouter({
  list: viewerProcedure.output(z.array(hostOutput)).query(async ({ ctx }) => (await hostListWithUsage(ctx.db)).map(hostView)),

  /**
   * Registers a host by its libvirt URI. The worker connects to it without restarting, reads its
   * capacity (nodeGetInfo) into the row and marks it online, or unreachable with the reason.
   */
  register: adminProcedure
    .input(hostRegisterInput)
    .output(hostOutput)
    .mutation(async ({ ctx, input }) => {
      refuseByPolicy(input.uri);
      // test:///default opens a fresh, separate simulated machine per connection; any other URI
      // registered twice would count one machine's capacity twice.
      const sameUri = input.uri === "test:///default" ? [] : await hostListByUri(ctx.db, input.uri);
      if (sameUri.length)
        throw new AppError("INVALID_INPUT", `host ${sameUri[0]!.id} is already registered with ${input.uri}`, { uri: input.uri });
      await hostCreate(ctx.db, { id: input.name, ...input }).catch((e: unknown) => {
        if (UniqueViolation.is(e))
          throw new AppError("INVALID_INPUT", `a host named ${input.name} already exists; choose another name`, {
            name: input.name,
          });
        throw e;
      });
      await publishEvent(ctx.db, { type: "topology" });
      return hostById(ctx.db, input.name);
    }),

  /**
   * "Test connection": tries a URI before it is registered — refused by exactly the rules of
   * `register`, with nothing contacted — and answers what libvirt reported (CPUs, memory, host
   * name) or why it could not connect. A worker tries it (the web never talks to libvirt);
   * nothing is registered or changed.
   */
  test: adminProcedure
    .input(hostTestInput)
    .output(hostProbeOutput)
    .mutation(async ({ ctx, input }) => {
      refuseByPolicy(input.uri);
      return probeHostThroughWorker(ctx.db, input.uri, ctx.user.name);
    }),

  /** Changes the VM quota and overcommit ratios; refused when the live VMs would no longer fit. */
  update: adminProcedure
    .input(hostUpdateInput)
    .output(hostOutput)
    .mutation(async ({ ctx, input }) => {
      const { id, ...next } = input;
      const updated = await hostUpdateSettings(ctx.db, id, next, (host) => checkHostSettings(host, next));
      if (!updated) notFound(id);
      await publishEvent(ctx.db, { type: "topology" });
      return hostById(ctx.db, id);
    }),

  /** Removes a host that carries no live VM; the worker closes its connection. */
  remove: adminProcedure
    .input(hostRemoveInput)
    .output(z.object({ removed: z.string() }))
    .mutation(async ({ ctx, input }) => {
      if (!(await hostRemove(ctx.db, input.id, (vms) => checkHostRemovable(input.id, vms)))) notFound(input.id);
      await publishEvent(ctx.db, { type: "topology" });
      return { removed: input.id };
    }),
});
