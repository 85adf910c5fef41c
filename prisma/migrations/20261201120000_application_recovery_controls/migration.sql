-- Per application: automatic recovery on or off, and an operator's request to restore a checkpoint.
ALTER TABLE "applications" ADD COLUMN "auto_recovery" BOOLEAN NOT NULL DEFAULT true;
ALTER TABLE "applications" ADD COLUMN "restore_requested_sequence" INTEGER;
ALTER TABLE "applications" ADD COLUMN "restore_requested_by" TEXT;
