import { randomUUID } from "node:crypto";
import {
  AppError,
  checkPlanPlacement,
  mergeInput,
  planMerge,
  planSplit,
  splitInput,
  type MergeInput,
  type OperationPlan,
  type RequestGuard,
  type SplitInput,
  type PlanVm,
} from "@malleo/core";
import {
  actorListByVms,
  applicationGet,
  deadlinePassed,
  hostUsageList,
  operationGetByIdempotencyKey,
  operationCreateWithLocks,
  vmListByIds,
  vmReserve,
  type Db,
  type DbOrTx,
  type Operation,
  UniqueViolation,
} from "@malleo/db";
import { z } from "zod";
import { accepted } from "./queue";

/** The input as `schema` reads it; refused as INVALID_INPUT naming every issue. */
export function parseInput<T>(schema: z.ZodType<T>, input: unknown): T {
  const r = schema.safeParse(input);
  if (!r.success) {
    const msg = r.error.issues.map((i) => (i.path.length ? `${i.path.join(".")}: ${i.message}` : i.message)).join("; ");
    throw new AppError("INVALID_INPUT", msg, { issues: r.error.issues.map((i) => ({ path: i.path, message: i.message })) });
  }
  return r.data;
}

/** Short, readable, unique names for new VMs: `<app>-<6 hex of op>-<i>`, with ids fixed now. */
export function targetIdentity(applicationId: string, operationId: string, i: number): { id: string; name: string } {
  return { id: randomUUID(), name: `${applicationId}-${operationId.slice(0, 6)}-${i + 1}` };
}

async function loadVms(db: Db, ids: string[]): Promise<PlanVm[]> {
  const vms = await vmListByIds(db, ids);
  for (const id of ids) {
    const vm = vms.find((v) => v.id === id);
    if (!vm || vm.state === "deleted") throw new AppError("NOT_FOUND", `VM ${id} does not exist or was deleted`, { vmId: id });
  }
  return ids.map((id) => vms.find((v) => v.id === id)!);
}

/**
 * Validates that the hosts exist and can take the planned targets (quota, CPU, memory), counting
 * every VM on them except the sources the operation will remove and, with `ownTargetsOf`, the
 * target rows the operation itself has already recorded.
 */
export async function checkPlanCapacity(
  db: DbOrTx,
  plan: OperationPlan,
  opts: { ownTargetsOf?: string; requireReachable?: boolean } = {},
): Promise<void> {
  checkPlanPlacement(await hostUsageList(db, [...new Set(plan.targets.map((t) => t.hostId))]), plan, opts);
}

/**
 * Creation-time check and reservation in one transaction: the target hosts' rows are locked,
 * capacity is checked against what is there now (another operation may have taken the room
 * since Validate), and the target VM rows are recorded. Idempotent for a resumed workflow.
 */
export async function reserveTargets(db: Db, operationId: string, plan: OperationPlan): Promise<void> {
  await vmReserve(
    db,
    plan.targets.map((t) => t.hostId),
    (hosts) => checkPlanPlacement(hosts, plan, { ownTargetsOf: operationId }),
    plan.targets.map((t) => ({
      id: t.id,
      name: t.name,
      hostId: t.hostId,
      applicationId: plan.applicationId,
      vcpus: t.vcpus,
      memoryMiB: t.memoryMiB,
      createdBy: operationId,
      lockedBy: operationId,
      state: "provisioning" as const,
    })),
  );
}

/** JSON with object keys sorted (Postgres jsonb does not keep the order they were written in). */
function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(",")}]`;
  if (v !== null && typeof v === "object")
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson((v as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  return JSON.stringify(v) ?? "null";
}

/** A replay of a key answers with its operation, if it is the same request by the same operator. */
function replayOf(existing: Operation, kind: Operation["kind"], operator: string, request: object, key: string): Operation {
  if (existing.kind !== kind || existing.operator !== operator || stableJson(existing.input) !== stableJson(request)) {
    throw new AppError(
      "IDEMPOTENCY_KEY_REUSED",
      `the idempotency key ${key} was already used for another request (operation ${existing.id}); generate a new key for each new request`,
      { operationId: existing.id },
    );
  }
  return existing;
}

/**
 * Runs `create` at most once per idempotency key: a replay (a retry, a second tab sending the same
 * request) gets the operation the first one created, whatever its deadline; a new request that
 * arrives after its deadline is refused before anything is read or written.
 */
export async function submitOnce<I extends RequestGuard>(
  db: Db,
  kind: Operation["kind"],
  input: I,
  operator: string,
  create: (request: Omit<I, keyof RequestGuard>, deadline: Date | undefined) => Promise<Operation>,
): Promise<Operation> {
  const { idempotencyKey: key, deadline, ...request } = input;
  if (key) {
    const existing = await operationGetByIdempotencyKey(db, key);
    if (existing) return replayOf(existing, kind, operator, request, key);
  }
  if (deadline !== undefined && Date.now() > deadline) throw deadlinePassed(new Date(deadline));
  try {
    return await create(request, deadline === undefined ? undefined : new Date(deadline));
  } catch (e) {
    // Two requests with one key at once: the second lost to the first — on the key's unique row,
    // or earlier, on the VM lock the first one took (VM_LOCKED). Either way it is a replay.
    if (key && (UniqueViolation.is(e) || AppError.is(e))) {
      const existing = await operationGetByIdempotencyKey(db, key);
      if (existing) return replayOf(existing, kind, operator, request, key);
    }
    throw e;
  }
}

/**
 * Validate & plan for a split, then record the operation with its VM locks. A degraded
 * application's VMs are refused here (APPLICATION_DEGRADED), before anything is written. The worker picks
 * queued operations up and runs them as durable workflows.
 */
export async function submitSplit(db: Db, rawInput: unknown, operator: string): Promise<Operation> {
  const guarded = parseInput(splitInput, rawInput);
  return submitOnce(db, "split", guarded, operator, (input, deadline) =>
    createSplit(db, input, guarded.idempotencyKey, deadline, operator),
  );
}

async function createSplit(
  db: Db,
  input: Omit<SplitInput, keyof RequestGuard>,
  idempotencyKey: string | undefined,
  deadline: Date | undefined,
  operator: string,
): Promise<Operation> {
  const [source] = await loadVms(db, [input.vmId]);
  const actors = await actorListByVms(db, [input.vmId]);
  const id = randomUUID();
  const application = await applicationGet(db, source!.applicationId);
  const plan = planSplit(source!, actors, input.targetHostIds, (i) => targetIdentity(source!.applicationId, id, i), application);
  await checkPlanCapacity(db, plan, { requireReachable: true });
  const op = await operationCreateWithLocks(db, {
    id,
    kind: "split",
    input,
    plan: plan as never,
    vmIds: [input.vmId],
    operator,
    transferMode: input.transfer,
    idempotencyKey,
    deadline,
  });
  return accepted(db, op);
}

export async function submitMerge(db: Db, rawInput: unknown, operator: string): Promise<Operation> {
  const guarded = parseInput(mergeInput, rawInput);
  return submitOnce(db, "merge", guarded, operator, (input, deadline) =>
    createMerge(db, input, guarded.idempotencyKey, deadline, operator),
  );
}

async function createMerge(
  db: Db,
  input: Omit<MergeInput, keyof RequestGuard>,
  idempotencyKey: string | undefined,
  deadline: Date | undefined,
  operator: string,
): Promise<Operation> {
  const sources = await loadVms(db, input.vmIds);
  const actors = await actorListByVms(db, input.vmIds);
  const id = randomUUID();
  const application = await applicationGet(db, sources[0]!.applicationId);
  const plan = planMerge(sources, actors, input.targetHostId, targetIdentity(sources[0]!.applicationId, id, 0), application);
  await checkPlanCapacity(db, plan, { requireReachable: true });
  const op = await operationCreateWithLocks(db, {
    id,
    kind: "merge",
    input,
    plan: plan as never,
    vmIds: input.vmIds,
    operator,
    transferMode: input.transfer,
    idempotencyKey,
    deadline,
  });
  return accepted(db, op);
}
