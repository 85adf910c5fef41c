-- Checkpoints of each application: every actor at one consistent cut (held at its safe point,
-- no message in flight between them), V8-serialized with its mailbox and delivery order state.
-- The worker keeps the last 3 per application.
CREATE TABLE "checkpoints" (
  "id" BIGSERIAL PRIMARY KEY,
  "application_id" TEXT NOT NULL REFERENCES "applications"("id") ON DELETE CASCADE ON UPDATE CASCADE,
  "sequence" INTEGER NOT NULL,
  "taken_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  "iteration" INTEGER NOT NULL,
  "actors" INTEGER NOT NULL,
  "bytes" INTEGER NOT NULL,
  "sha256" TEXT NOT NULL,
  "data" BYTEA NOT NULL,
  -- Why it was taken: "periodic", "stop" (a graceful worker stop) or "manual".
  "reason" TEXT NOT NULL
);
CREATE UNIQUE INDEX "checkpoints_application_id_sequence_key" ON "checkpoints"("application_id", "sequence");

-- Checkpoint interval per application (NULL: the worker's MALLEO_CHECKPOINT_MS; 0: none), and the
-- number of restores so far (each restore starts the actors' sequence numbers in a new range).
ALTER TABLE "applications" ADD COLUMN "checkpoint_interval_ms" INTEGER,
ADD COLUMN "restore_epoch" INTEGER NOT NULL DEFAULT 0;
