// Heat diffusion as an application module (@malleo/sdk): what the worker, the theaters and the
// deploy form know of it.
import { defineApplication, z } from "@malleo/sdk";
import { heatActorSpecs, heatAssemble, heatBehaviors, type HeatConfig } from "./heat";

export const heatConfigSchema = z
  .object({
    width: z.number().int().min(1).max(8192),
    height: z.number().int().min(1).max(8192),
    actors: z.number().int().min(1).max(8192),
    maxIterations: z.number().int().min(0).nullable(),
    iterationDelayMs: z.number().min(0).max(60_000),
  })
  .strict()
  .refine((c) => c.actors <= c.height, {
    message: "actors must be at most the height (one slab has at least one row)",
    path: ["actors"],
  });

export const heatApplication = defineApplication<HeatConfig>({
  kind: "heat",
  version: "1.0.0",
  description: "2D heat diffusion (Jacobi), one actor per slab of rows; bit-identical to the sequential kernel",
  configSchema: heatConfigSchema,
  defaultConfig: { width: 256, height: 256, actors: 64, maxIterations: null, iterationDelayMs: 25 },
  behaviors: heatBehaviors,
  actors: heatActorSpecs,
  result: (config, states) => heatAssemble(config, new Map(states)),
});
