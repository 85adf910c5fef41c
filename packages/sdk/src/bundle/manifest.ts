// What a bundle's check prints about the application it exports: enough for the API to list the
// kind, generate the deploy form and validate a configuration, without loading the code again.
import { z } from "zod";
import type { ApplicationModule } from "../application";

export const bundleManifestSchema = z
  .object({
    kind: z.string(),
    version: z.string(),
    description: z.string(),
    /** The module's config schema as JSON Schema (draft 2020-12, the input side). */
    configSchema: z.record(z.string(), z.unknown()),
    defaultConfig: z.unknown(),
    behaviors: z.array(z.string()),
  })
  .strict();

export type BundleManifest = z.infer<typeof bundleManifestSchema>;

/** The manifest of a loaded module. */
export function applicationManifest(module: ApplicationModule): BundleManifest {
  return {
    kind: module.kind,
    version: module.version,
    description: module.description,
    configSchema: z.toJSONSchema(module.configSchema, { io: "input", unrepresentable: "any" }) as Record<string, unknown>,
    defaultConfig: module.defaultConfig,
    behaviors: Object.keys(module.behaviors).sort(),
  };
}
