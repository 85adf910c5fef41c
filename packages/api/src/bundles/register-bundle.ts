// Registering an application bundle: checked in a child process (the code never runs here),
// refused with every reason — nothing stored — when it does not load, does not export one
// application, clashes with an installed kind or behavior, or reuses a registered kind and
// version with other bytes. The same bytes again are the same registration (idempotent).
import { randomUUID } from "node:crypto";
import { installedApplications } from "@malleo/applications";
import { AppError } from "@malleo/core";
import { bundleFind, bundleInsert, type Db } from "@malleo/db";
import {
  BundleRefusedError,
  bundleFile,
  inspectBundle,
  sha256Hex,
  type BundleLimits,
  type BundleManifest,
} from "@malleo/sdk/bundle";

/** The largest bundle accepted (the upload route's own body limit; tRPC's stays 64 KiB). */
export const MAX_BUNDLE_BYTES = 8 * 1024 * 1024;

export interface RegisteredBundle {
  kind: string;
  version: string;
  sha256: string;
  size: number;
  description: string;
  behaviors: string[];
  registeredBy: string;
  registeredAt: Date;
  /** False when these very bytes were registered already (nothing new was stored). */
  created: boolean;
}

function refuse(message: string, problems: string[] = [message]): never {
  throw new AppError("INVALID_INPUT", message, { problems });
}

/** Why the manifest clashes with the installed applications; empty when it does not. */
function clashes(manifest: BundleManifest): string[] {
  const problems: string[] = [];
  if (installedApplications.has(manifest.kind))
    problems.push(`kind ${JSON.stringify(manifest.kind)} is an installed application; register the bundle under another kind`);
  const installedBehaviors = installedApplications.behaviors();
  for (const name of manifest.behaviors)
    if (name in installedBehaviors) problems.push(`behavior ${JSON.stringify(name)} belongs to an installed application`);
  return problems;
}

function registered(row: NonNullable<Awaited<ReturnType<typeof bundleFind>>>, created: boolean): RegisteredBundle {
  const manifest = row.manifest as BundleManifest;
  return {
    kind: row.kind,
    version: row.version,
    sha256: row.sha256,
    size: row.size,
    description: manifest.description,
    behaviors: manifest.behaviors,
    registeredBy: row.registeredBy,
    registeredAt: row.registeredAt,
    created,
  };
}

export async function registerBundle(
  db: Db,
  bytes: Uint8Array,
  registeredBy: string,
  limits: BundleLimits = {},
): Promise<RegisteredBundle> {
  if (bytes.byteLength === 0) refuse("the bundle is empty: send the file's bytes as the request body");
  if (bytes.byteLength > MAX_BUNDLE_BYTES) refuse(`the bundle is larger than ${MAX_BUNDLE_BYTES} bytes`);
  const sha256 = sha256Hex(bytes);
  let manifest: BundleManifest;
  try {
    manifest = await inspectBundle(bundleFile(bytes), limits);
  } catch (error) {
    if (error instanceof BundleRefusedError) refuse(error.message, error.problems);
    throw error;
  }
  const clash = clashes(manifest);
  if (clash.length > 0) refuse(`the bundle is refused: ${clash.join("; ")}`, clash);
  const existing = await bundleFind(db, manifest.kind, manifest.version);
  if (existing) {
    if (existing.sha256 === sha256) return registered(existing, false);
    refuse(
      `version ${manifest.version} of ${manifest.kind} is already registered with other bytes (sha256 ${existing.sha256.slice(0, 12)}…, this one ${sha256.slice(0, 12)}…); give the new bundle a new version`,
    );
  }
  try {
    const row = await bundleInsert(db, {
      id: randomUUID(),
      kind: manifest.kind,
      version: manifest.version,
      sha256,
      bytes,
      manifest: manifest as never,
      registeredBy,
    });
    return registered(row, true);
  } catch (error) {
    // Two registrations of one kind and version at once: the loser reads the winner's row.
    const raced = await bundleFind(db, manifest.kind, manifest.version);
    if (raced?.sha256 === sha256) return registered(raced, false);
    if (raced) refuse(`version ${manifest.version} of ${manifest.kind} was just registered with other bytes`);
    throw error;
  }
}
