// Deploying an application: validated (its kind installed or registered as a bundle, its configuration by the module's own
// schema, its VMs against quota and capacity as for a split), planned (the application's layout
// of its actors onto the new VMs) and recorded — the application row and a `deploy` operation in
// one transaction. The worker runs it like a split: validate → provision → spawn.
import { randomUUID } from "node:crypto";
import { deployInput, planDeploy, type DeployInput, type RequestGuard } from "@malleo/core";
import { operationCreateWithLocks, type Db, type Operation } from "@malleo/db";
import { deployPlanOfKind } from "./application-kinds";
import { accepted } from "./queue";
import { checkPlanCapacity, parseInput, submitOnce } from "./submit";

export async function submitDeploy(db: Db, rawInput: unknown, operator: string): Promise<Operation> {
  const guarded = parseInput(deployInput, rawInput);
  return submitOnce(db, "deploy", guarded, operator, (input, deadline) =>
    createDeploy(db, input, guarded.idempotencyKey, deadline, operator),
  );
}

async function createDeploy(
  db: Db,
  input: Omit<DeployInput, keyof RequestGuard>,
  idempotencyKey: string | undefined,
  deadline: Date | undefined,
  operator: string,
): Promise<Operation> {
  const { config, groups, bundleVersion } = await deployPlanOfKind(db, input, input.vms.length);
  const id = randomUUID();
  const plan = planDeploy(input.applicationId, input.vms, groups, (i) => ({
    id: randomUUID(),
    name: `${input.applicationId}-${i + 1}`,
  }));
  await checkPlanCapacity(db, plan, { requireReachable: true });
  const op = await operationCreateWithLocks(db, {
    id,
    kind: "deploy",
    input: { ...input, config, ...(bundleVersion ? { version: bundleVersion } : {}) } as never,
    plan: plan as never,
    vmIds: [],
    operator,
    idempotencyKey,
    deadline,
    application: { id: input.applicationId, kind: input.kind, config: config as never, bundleVersion },
  });
  return accepted(db, op);
}
