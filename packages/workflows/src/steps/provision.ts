import { AppError } from "@malleo/core";
import { publishEvent, vmGet, vmTransition } from "@malleo/db";
import { reserveTargets } from "../submit";
import { fx } from "../runtime";
import type { Compensation, OperationContext } from "./context";

/**
 * Creates the target VMs and boots their theaters while the application keeps running on the
 * sources: nothing is held yet. Locks the target hosts' rows and re-checks capacity first.
 */
export async function provisionStep({ operationId, plan }: OperationContext) {
  const { db } = fx();
  // Creation-time check and reservation: another operation may have taken the room since Validate.
  await reserveTargets(db, operationId, plan);
  await publishEvent(db, { type: "topology" });
  await Promise.all(
    plan.targets.map(async (t) => {
      await fx().provisionVm({
        id: t.id,
        name: t.name,
        hostId: t.hostId,
        applicationId: plan.applicationId,
        vcpus: t.vcpus,
        memoryMiB: t.memoryMiB,
      });
      await vmTransition(db, t.id, "running");
    }),
  );
  await publishEvent(db, { type: "topology" });
  return { created: plan.targets.map((t) => t.name) };
}

/** Undo of Provision: destroy the targets (a target never created on an unreachable host is let go). */
export function destroyTargets({ operationId, plan }: OperationContext): Compensation {
  return {
    what: "destroy the target VMs",
    undo: async () => {
      const { db } = fx();
      for (const t of plan.targets) {
        const row = await vmGet(db, t.id);
        if (!row || row.state === "deleted") continue;
        try {
          await fx().destroyVm(t.id);
        } catch (e) {
          // A target on a host that could not be reached was never confirmed created: its
          // domain cannot exist unless the host went away after creating it, which
          // reconciliation reports. Anything else must not be forgotten: the rollback fails.
          if (!(row.state === "provisioning" && AppError.is(e) && e.details.unreachable === true)) throw e;
          fx().log({ operationId, event: "target never created: host unreachable", vm: t.name, hostId: t.hostId });
        }
        await vmTransition(db, t.id, "deleted");
      }
      await publishEvent(db, { type: "topology" });
    },
  };
}
