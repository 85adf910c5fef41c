// Deploying an application: validated (its kind installed, its configuration by the module's own
// schema, its VMs against quota and capacity as for a split), planned (the application's layout
// of its actors onto the new VMs) and recorded — the application row and a `deploy` operation in
// one transaction. The worker runs it like a split: validate → provision → spawn.
import { randomUUID } from "node:crypto";
import { installedApplications } from "@malleo/applications";
import { AppError, deployInput, planDeploy, type DeployInput, type RequestGuard } from "@malleo/core";
import { accepted } from "./queue";
import { operationCreateWithLocks, type Db, type Operation } from "@malleo/db";
import { ApplicationConfigError, UnknownApplicationKindError } from "@malleo/sdk";
import { checkPlanCapacity, parseInput, submitOnce } from "./submit";

export async function submitDeploy(db: Db, rawInput: unknown, operator: string): Promise<Operation> {
  const guarded = parseInput(deployInput, rawInput);
  return submitOnce(db, "deploy", guarded, operator, (input, deadline) =>
    createDeploy(db, input, guarded.idempotencyKey, deadline, operator),
  );
}

/** The configuration as the application's schema reads it; refusals name the kind and every field. */
function checkedConfig(input: Omit<DeployInput, keyof RequestGuard>): unknown {
  try {
    const module = installedApplications.get(input.kind);
    if (input.version !== undefined && input.version !== module.version) {
      throw new AppError(
        "INVALID_INPUT",
        `version ${input.version} of ${input.kind} is not installed (installed: ${module.version})`,
        { kind: input.kind, installed: module.version },
      );
    }
    return installedApplications.parseConfig(input.kind, input.config);
  } catch (e) {
    if (e instanceof UnknownApplicationKindError)
      throw new AppError("INVALID_INPUT", e.message, { kind: e.kind, installed: e.known });
    if (e instanceof ApplicationConfigError)
      throw new AppError("INVALID_INPUT", e.message, { issues: e.issues.map((message) => ({ path: ["config"], message })) });
    throw e;
  }
}

async function createDeploy(
  db: Db,
  input: Omit<DeployInput, keyof RequestGuard>,
  idempotencyKey: string | undefined,
  deadline: Date | undefined,
  operator: string,
): Promise<Operation> {
  const config = checkedConfig(input);
  const specs = installedApplications.actorSpecs(input.kind, input.applicationId, config);
  const groups = installedApplications.layout(input.kind, specs, input.vms.length).map((g) => g.map((s) => s.uan));
  const id = randomUUID();
  const plan = planDeploy(input.applicationId, input.vms, groups, (i) => ({
    id: randomUUID(),
    name: `${input.applicationId}-${i + 1}`,
  }));
  await checkPlanCapacity(db, plan, { requireReachable: true });
  const op = await operationCreateWithLocks(db, {
    id,
    kind: "deploy",
    input: { ...input, config } as never,
    plan: plan as never,
    vmIds: [],
    operator,
    idempotencyKey,
    deadline,
    application: { id: input.applicationId, kind: input.kind, config: config as never },
  });
  return accepted(db, op);
}
