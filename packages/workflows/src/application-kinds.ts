// The application kinds a deployment can deploy: those installed in the source tree
// (@malleo/applications) and those an admin registered as bundles (application_bundles). An
// installed kind is read from its module; a bundle kind from its manifest — its code is loaded
// only in a child process (@malleo/sdk/bundle), never here.
import { installedApplications } from "@malleo/applications";
import { AppError, TERMINAL_STATUSES, upgradeInput } from "@malleo/core";
import { applicationGet, bundleBytes, bundleFind, bundleLatest, bundleList, operationGet, vmGet, type Db } from "@malleo/db";
import type { ActorSpec } from "@malleo/actors";
import { ApplicationConfigError, UnknownApplicationKindError } from "@malleo/sdk";
import { BundleRefusedError, bundleFile, planBundle, type BundleManifest } from "@malleo/sdk/bundle";
import { z } from "zod";

export interface KindSummary {
  kind: string;
  /** The version a deploy runs unless it names another: the installed one, or the latest registered. */
  version: string;
  description: string;
  defaultConfig: unknown;
  /** The config schema as JSON Schema (draft 2020-12, the input side). */
  configSchema: Record<string, unknown>;
  source: "installed" | "bundle";
  /** Every version that can be deployed, newest first. */
  versions: string[];
}

export async function applicationKinds(db: Db): Promise<KindSummary[]> {
  const installed: KindSummary[] = installedApplications.summaries().map((s) => ({
    ...s,
    configSchema: z.toJSONSchema(installedApplications.get(s.kind).configSchema, {
      io: "input",
      unrepresentable: "any",
    }) as Record<string, unknown>,
    source: "installed",
    versions: [s.version],
  }));
  const bundles = new Map<string, KindSummary>();
  for (const row of await bundleList(db)) {
    const known = bundles.get(row.kind);
    if (known) {
      known.versions.push(row.version);
      continue;
    }
    const m = row.manifest as BundleManifest;
    bundles.set(row.kind, {
      kind: row.kind,
      version: row.version,
      description: m.description,
      defaultConfig: m.defaultConfig,
      configSchema: m.configSchema,
      source: "bundle",
      versions: [row.version],
    });
  }
  return [...installed, ...[...bundles.values()].sort((a, b) => a.kind.localeCompare(b.kind))];
}

/** What a deploy of `kind` runs: its configuration (read by its schema), its actors and their layout onto `vms` VMs. */
export interface DeployPlanOfKind {
  config: unknown;
  actors: ActorSpec[];
  groups: string[][];
  /** The bundle version, for a bundle kind. */
  bundleVersion?: string;
}

function configRefusal(kind: string, issues: string[]): AppError {
  const e = new ApplicationConfigError(kind, issues);
  return new AppError("INVALID_INPUT", e.message, { issues: issues.map((message) => ({ path: ["config"], message })) });
}

/** Refuses, naming every issue, a configuration the manifest's JSON Schema does not accept. */
export function checkManifestConfig(manifest: BundleManifest, config: unknown): void {
  const parsed = z.fromJSONSchema(manifest.configSchema as never).safeParse(config);
  if (!parsed.success)
    throw configRefusal(
      manifest.kind,
      parsed.error.issues.map((i) => (i.path.length > 0 ? `${i.path.join(".")}: ${i.message}` : i.message)),
    );
}

export async function deployPlanOfKind(
  db: Db,
  input: { applicationId: string; kind: string; version?: string; config: unknown },
  vms: number,
): Promise<DeployPlanOfKind> {
  if (installedApplications.has(input.kind)) {
    const module = installedApplications.get(input.kind);
    if (input.version !== undefined && input.version !== module.version)
      throw new AppError(
        "INVALID_INPUT",
        `version ${input.version} of ${input.kind} is not installed (installed: ${module.version})`,
        {
          kind: input.kind,
          installed: module.version,
        },
      );
    let config: unknown;
    try {
      config = installedApplications.parseConfig(input.kind, input.config);
    } catch (e) {
      if (e instanceof ApplicationConfigError) throw configRefusal(input.kind, e.issues);
      throw e;
    }
    const actors = installedApplications.actorSpecs(input.kind, input.applicationId, config);
    const groups = installedApplications.layout(input.kind, actors, vms).map((g) => g.map((s) => s.uan));
    return { config, actors, groups };
  }
  const row = input.version === undefined ? await bundleLatest(db, input.kind) : await bundleFind(db, input.kind, input.version);
  if (!row) {
    if (input.version !== undefined && (await bundleLatest(db, input.kind)))
      throw new AppError("INVALID_INPUT", `version ${input.version} of ${input.kind} is not registered`, { kind: input.kind });
    const known = (await applicationKinds(db)).map((k) => k.kind);
    const e = new UnknownApplicationKindError(input.kind, known);
    throw new AppError("INVALID_INPUT", e.message, { kind: input.kind, installed: known });
  }
  checkManifestConfig(row.manifest as BundleManifest, input.config);
  const file = await bundleFileOf(db, input.kind, row.version);
  try {
    const plan = await planBundle(file, input.applicationId, input.config, vms);
    return { ...plan, bundleVersion: row.version };
  } catch (e) {
    if (e instanceof BundleRefusedError && e.configInvalid) throw configRefusal(input.kind, e.problems);
    if (e instanceof BundleRefusedError)
      throw new AppError(
        "INVALID_INPUT",
        `the ${input.kind} ${row.version} bundle could not plan the deploy: ${e.problems.join("; ")}`,
      );
    throw e;
  }
}

/** The registered bundle's bytes as a local file (checked against its sha256), for a child process or a theater to import. */
export async function bundleFileOf(db: Db, kind: string, version: string): Promise<string> {
  const b = await bundleBytes(db, kind, version);
  if (!b) throw new AppError("NOT_FOUND", `no bundle ${kind} ${version} is registered`);
  const file = bundleFile(b.bytes);
  if (!file.endsWith(`${b.sha256}.mjs`))
    throw new AppError("INTERNAL", `the stored ${kind} ${version} bundle does not match its sha256`);
  return file;
}

/**
 * The bundle a theater of the application runs, for the Mediator to send it (null for an
 * installed kind): the version the application row names — except on a VM a rolling upgrade
 * still under way created, which runs the version that upgrade moves to (the application's other
 * theaters run the old one until their actors have moved; the row changes when they all have).
 */
export async function bundleOfApplication(
  db: Db,
  applicationId: string,
  vmId?: string,
): Promise<{ kind: string; version: string; sha256: string; bytes: Uint8Array } | null> {
  const app = await applicationGet(db, applicationId);
  if (!app?.bundleVersion) return null;
  const version = (vmId && (await upgradeVersionOf(db, vmId))) || app.bundleVersion;
  const b = await bundleBytes(db, app.kind, version);
  return b && { kind: app.kind, version, ...b };
}

/** The version a rolling upgrade under way moves to, when it created this VM; else null. */
async function upgradeVersionOf(db: Db, vmId: string): Promise<string | null> {
  const vm = await vmGet(db, vmId);
  const op = vm?.createdBy ? await operationGet(db, vm.createdBy) : null;
  if (op?.kind !== "upgrade" || TERMINAL_STATUSES.includes(op.status)) return null;
  return upgradeInput.parse(op.input).version;
}

/** A bundle application's actors for its stored configuration, computed in a child process (its code never runs here). */
export async function bundleActorSpecs(
  db: Db,
  app: { id: string; kind: string; config: unknown; bundleVersion: string },
): Promise<ActorSpec[]> {
  const plan = await planBundle(await bundleFileOf(db, app.kind, app.bundleVersion), app.id, app.config, 1);
  return plan.actors;
}
