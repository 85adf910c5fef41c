// The upgrade test's application: actors that tick and add `step` to a total each tick. Its
// versions differ in the step (1, then 10, 100 in 2.1.0) and the state format: 2 adds `upgradedAt`, the tick
// count its state was migrated at (its migrateState); 3 changes the format without one; 4 has a
// migrateState that throws (an upgrade that fails during its restart).
import { defineApplication, defineBehavior, formatUan, z } from "@malleo/sdk";

export interface TallyState {
  ticks: number;
  total: number;
  intervalMs: number;
  /** State format 2: the tick at which a format-1 state was migrated. */
  upgradedAt?: number;
}

/** How a version reads an older state format: adding `upgradedAt`, throwing, or not at all. */
export type TallyMigration = "adds upgradedAt" | "throws" | "none";

function migration(kind: TallyMigration) {
  if (kind === "none") return {};
  return {
    migrateState(state: unknown, from: number): unknown {
      if (kind === "throws") throw new Error(`tally cannot read state format ${from}`);
      return { ...(state as TallyState), upgradedAt: (state as TallyState).ticks };
    },
  };
}

export function tallyApplication(version: string, step: number, stateVersion: number, migrate: TallyMigration) {
  const node = defineBehavior<TallyState, { kind: "tick" }>({
    init: (args) => ({ ticks: 0, total: 0, intervalMs: (args as { intervalMs: number }).intervalMs }),
    start(state, context) {
      context.schedule({ kind: "tick" }, state.intervalMs);
      return state;
    },
    receive(state, _message, context) {
      state.ticks++;
      state.total += step;
      context.schedule({ kind: "tick" }, state.intervalMs);
      return state;
    },
    progress: (state) => state.ticks,
  });
  return defineApplication({
    kind: "tally",
    version,
    description: `actors adding ${step} per tick`,
    configSchema: z.object({ actors: z.number().int().min(1).max(64), intervalMs: z.number().int().min(1) }).strict(),
    defaultConfig: { actors: 4, intervalMs: 20 },
    behaviors: { "tally.node": node },
    actors: (appId, config) =>
      Array.from({ length: config.actors }, (_, i) => ({
        uan: formatUan(appId, `t-${i}`),
        behavior: "tally.node",
        init: { intervalMs: config.intervalMs },
      })),
    stateVersion,
    ...migration(migrate),
  });
}
