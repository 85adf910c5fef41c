// Stop, start and delete an application: operations on all of its VMs, which they lock like a
// split, so that none runs while another operation holds one of them (a deletion during a
// split is refused naming the split). The worker runs them: stop holds every actor at its safe
// point, start resumes them, delete discards the actors and destroys the VMs; the application
// row, its operations and its audit trail stay.
import { randomUUID } from "node:crypto";
import {
  AppError,
  APPLICATION_ACTION_FROM,
  applicationActionInput,
  planApplicationAction,
  type ApplicationAction,
} from "@malleo/core";
import { applicationGet, operationCreateWithLocks, vmListByApplication, type Db, type Operation } from "@malleo/db";
import { accepted } from "./queue";
import { parseInput, submitOnce } from "./submit";

export async function submitApplicationAction(
  db: Db,
  action: ApplicationAction,
  rawInput: unknown,
  operator: string,
): Promise<Operation> {
  const guarded = parseInput(applicationActionInput, rawInput);
  return submitOnce(db, action, guarded, operator, async (input, deadline) => {
    const app = await applicationGet(db, input.applicationId);
    if (!app)
      throw new AppError("NOT_FOUND", `application ${input.applicationId} does not exist`, {
        applicationId: input.applicationId,
      });
    if (!APPLICATION_ACTION_FROM[action].includes(app.status)) {
      throw new AppError(
        "INVALID_INPUT",
        `application ${app.id} is ${app.status}; it can be ${action === "start" ? "started" : action === "stop" ? "stopped" : "deleted"} only when ${APPLICATION_ACTION_FROM[action].join(" or ")}`,
        {
          applicationId: app.id,
          status: app.status,
        },
      );
    }
    const vms = await vmListByApplication(db, app.id);
    const id = randomUUID();
    const op = await operationCreateWithLocks(db, {
      id,
      kind: action,
      input,
      plan: planApplicationAction(action, app.id, vms) as never,
      vmIds: vms.map((v) => v.id),
      operator,
      idempotencyKey: guarded.idempotencyKey,
      deadline,
    });
    return accepted(db, op);
  });
}
