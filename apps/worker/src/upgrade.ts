// An upgrade's state migration: a checkpoint's actors as the version the application now runs
// reads them (its module's migrateState), computed in a child process — application code never
// runs in the worker.
import type { MigratedActor } from "@malleo/actors";
import { applicationGet, type Db } from "@malleo/db";
import { bundleMigrateStates } from "@malleo/sdk/bundle";
import { bundleFileOf } from "@malleo/workflows";

/** Rewrites the actors' states from state format `from` with the bundle the application row names. */
export function bundleStateMigration(db: Db, applicationId: string, from: number) {
  return async (actors: MigratedActor[]): Promise<MigratedActor[]> => {
    const app = await applicationGet(db, applicationId);
    if (!app?.bundleVersion) throw new Error(`application ${applicationId} runs no bundle: nothing to migrate its states with`);
    const file = await bundleFileOf(db, app.kind, app.bundleVersion);
    const states = await bundleMigrateStates(
      file,
      from,
      actors.map((a) => ({ behavior: a.behavior, state: a.state })),
    );
    return actors.map((a, i) => ({ ...a, state: states[i] }));
  };
}
