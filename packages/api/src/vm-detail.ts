import { AppError } from "@malleo/core";
import { actorPageByVm, applicationGet, cpuSampleSeries, hostGet, operationSearch, vmGet, type Db } from "@malleo/db";
import { z } from "zod";
import { operationOutput } from "./operation-detail";

export const vmDetailInput = z
  .object({
    id: z.uuid({ error: "a VM id is a UUID, as the topology's VM page link has it" }),
    /** The window of actors shown (by ordinal): a VM may hold thousands. */
    actorsOffset: z.number().int().min(0, { error: "actorsOffset is 0 or more" }).default(0),
    actorsLimit: z
      .number()
      .int()
      .min(1, { error: "actorsLimit is 1 to 500" })
      .max(500, { error: "actorsLimit is 1 to 500" })
      .default(100),
  })
  .strict();

export const vmCpuInput = z
  .object({
    id: z.uuid({ error: "a VM id is a UUID, as the topology's VM page link has it" }),
    /** How far back the series reaches. */
    minutes: z
      .number()
      .int()
      .min(1, { error: "minutes is 1 to 1440" })
      .max(24 * 60, { error: "minutes is 1 to 1440" })
      .default(30),
  })
  .strict();

/** Percent of the VM's vCPUs, oldest first. */
export const vmCpuOutput = z.array(z.object({ at: z.date(), cpuPercent: z.number() }));

/** The operations a VM page lists: more than any VM takes part in, so none is cut off in practice. */
const OPERATIONS_LIMIT = 200;

/** What every view of a VM says of it: the topology's VM cards and the VM page both extend this. */
export const vmSummaryOutput = z.object({
  id: z.string(),
  name: z.string(),
  vcpus: z.number().int(),
  memoryMiB: z.number().int(),
  state: z.enum(["provisioning", "running", "deleting", "deleted", "failed", "lost"]),
  lockedBy: z.string().nullable(),
  /** The operation that created this VM: while that operation still holds it, the VM is its target. */
  createdBy: z.string().nullable(),
  createdAt: z.date(),
});

/** One actor as a VM lists it. */
export const vmActorOutput = z.object({ uan: z.string(), ordinal: z.number().int(), behavior: z.string() });

export const vmDetailOutput = vmSummaryOutput.extend({
  deletedAt: z.date().nullable(),
  host: z.object({ id: z.string(), name: z.string(), status: z.enum(["online", "unreachable"]) }),
  application: z.object({ id: z.string(), kind: z.string(), status: z.enum(["running", "degraded", "stopped", "deleted"]) }),
  actors: z.object({
    total: z.number().int(),
    offset: z.number().int(),
    items: z.array(vmActorOutput),
  }),
  /** Every operation the VM took part in, as a source or a target, newest first. */
  operations: z.array(operationOutput),
});

export type VmDetail = z.infer<typeof vmDetailOutput>;

/** One VM (a deleted one too: its history stays) with its host, application, a window of its actors and its operations. */
export async function vmDetail(db: Db, input: z.infer<typeof vmDetailInput>): Promise<VmDetail> {
  const vm = await vmGet(db, input.id);
  if (!vm) throw new AppError("NOT_FOUND", `VM ${input.id} does not exist`, { vmId: input.id });
  const [host, application, actors, operations] = await Promise.all([
    hostGet(db, vm.hostId),
    applicationGet(db, vm.applicationId),
    actorPageByVm(db, vm.id, { offset: input.actorsOffset, limit: input.actorsLimit }),
    operationSearch(db, { vmId: vm.id }, { offset: 0, limit: OPERATIONS_LIMIT }),
  ]);
  // Foreign keys keep both; a row missing would be a broken database, not a missing VM.
  if (!host || !application) throw new Error(`VM ${vm.id} names a host or application that does not exist`);
  return vmDetailOutput.parse({
    ...vm,
    host: { id: host.id, name: host.name, status: host.status },
    application: { id: application.id, kind: application.kind, status: application.status },
    actors: { total: actors.total, offset: input.actorsOffset, items: actors.items },
    operations: operations.items,
  });
}

/**
 * The VM's CPU over the last `minutes` (vm_cpu_samples, raw within the last hour). Apart from
 * vmDetail because samples arrive without an event: the page polls this alone.
 */
export async function vmCpu(db: Db, input: z.infer<typeof vmCpuInput>): Promise<z.infer<typeof vmCpuOutput>> {
  if (!(await vmGet(db, input.id))) throw new AppError("NOT_FOUND", `VM ${input.id} does not exist`, { vmId: input.id });
  const samples = await cpuSampleSeries(db, input.id, new Date(Date.now() - input.minutes * 60_000));
  return samples.map((s) => ({ at: s.at, cpuPercent: s.cpuPercent }));
}
