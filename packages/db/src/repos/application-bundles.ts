import type { Db } from "../client";
import type { Prisma } from "../generated/prisma/client";

/** What a listing shows of a bundle: everything but its bytes. */
const summary = {
  id: true,
  kind: true,
  version: true,
  sha256: true,
  size: true,
  manifest: true,
  registeredBy: true,
  registeredAt: true,
} as const;

export function bundleInsert(
  db: Db,
  b: {
    id: string;
    kind: string;
    version: string;
    sha256: string;
    bytes: Uint8Array;
    manifest: Prisma.InputJsonValue;
    registeredBy: string;
  },
) {
  return db.applicationBundle.create({
    data: { ...b, size: b.bytes.byteLength, bytes: new Uint8Array(b.bytes) },
    select: summary,
  });
}

/** A kind's version, without its bytes; null when not registered. */
export function bundleFind(db: Db, kind: string, version: string) {
  return db.applicationBundle.findUnique({ where: { kind_version: { kind, version } }, select: summary });
}

/** A kind's most recently registered version, without its bytes; null when the kind has no bundle. */
export function bundleLatest(db: Db, kind: string) {
  return db.applicationBundle.findFirst({ where: { kind }, orderBy: { registeredAt: "desc" }, select: summary });
}

/** Every registered bundle, newest first, without bytes. */
export function bundleList(db: Db) {
  return db.applicationBundle.findMany({ orderBy: [{ registeredAt: "desc" }, { id: "desc" }], select: summary });
}

/** A bundle's bytes and checksum (what a theater is sent); null when not registered. */
export async function bundleBytes(db: Db, kind: string, version: string): Promise<{ sha256: string; bytes: Uint8Array } | null> {
  const row = await db.applicationBundle.findUnique({
    where: { kind_version: { kind, version } },
    select: { sha256: true, bytes: true },
  });
  return row && { sha256: row.sha256, bytes: new Uint8Array(row.bytes) };
}
