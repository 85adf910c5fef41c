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
    /** Its actors' state format (the module's `stateVersion`, default 1)… */
    stateVersion: z.number().int().min(1).default(1),
    /** …and whether it reads older formats (`migrateState`). */
    migratesState: z.boolean().default(false),
  })
  .strict();

export type BundleManifest = z.infer<typeof bundleManifestSchema>;

/**
 * Why the actors of a running application at version `from` cannot be restored under `to` from a
 * checkpoint (an upgrade), or null when they can: another kind, or a state format `to` does not
 * read (a newer one without `migrateState`, or an older one).
 */
export function upgradeRefusal(
  from: Pick<BundleManifest, "kind" | "version" | "stateVersion">,
  to: Pick<BundleManifest, "kind" | "version" | "stateVersion" | "migratesState">,
): string | null {
  if (from.kind !== to.kind) return `${to.kind} ${to.version} is another kind than the application's (${from.kind})`;
  if (from.version === to.version) return `the application already runs ${from.kind} ${from.version}`;
  if (to.stateVersion < from.stateVersion)
    return `${to.kind} ${to.version} has state format ${to.stateVersion}, older than the running ${from.version}'s ${from.stateVersion}: its actors could not read their checkpointed states`;
  if (to.stateVersion > from.stateVersion && !to.migratesState)
    return `${to.kind} ${to.version} changed the state format (${from.stateVersion} → ${to.stateVersion}) and has no migrateState: the running actors' states are incompatible`;
  return null;
}

/** The manifest of a loaded module. */
export function applicationManifest(module: ApplicationModule): BundleManifest {
  return {
    kind: module.kind,
    version: module.version,
    description: module.description,
    configSchema: z.toJSONSchema(module.configSchema, { io: "input", unrepresentable: "any" }) as Record<string, unknown>,
    defaultConfig: module.defaultConfig,
    behaviors: Object.keys(module.behaviors).sort(),
    stateVersion: module.stateVersion ?? 1,
    migratesState: typeof module.migrateState === "function",
  };
}
