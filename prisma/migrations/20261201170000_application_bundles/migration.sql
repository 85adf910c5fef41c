-- Application bundles an admin registered: the file's bytes, checksum and the manifest its check
-- printed. One row per kind and version; a second registration of the same kind and version with
-- other bytes is refused before anything is written.
CREATE TABLE "application_bundles" (
    "id" UUID NOT NULL,
    "kind" TEXT NOT NULL,
    "version" TEXT NOT NULL,
    "sha256" TEXT NOT NULL,
    "size" INTEGER NOT NULL,
    "bytes" BYTEA NOT NULL,
    "manifest" JSONB NOT NULL,
    "registered_by" TEXT NOT NULL,
    "registered_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "application_bundles_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "application_bundles_kind_version_key" ON "application_bundles"("kind", "version");
CREATE INDEX "application_bundles_kind_registered_at_idx" ON "application_bundles"("kind", "registered_at");

-- The bundle version an application runs; NULL for a kind installed in the source tree.
ALTER TABLE "applications" ADD COLUMN "bundle_version" TEXT;
