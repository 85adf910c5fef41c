-- An application's actor communication as rates, sampled by the worker from the theaters' message
-- counters (the application page's heatmap); the worker keeps the last hour.
CREATE TABLE "application_communication" (
    "application_id" TEXT NOT NULL,
    "at" TIMESTAMP(3) NOT NULL,
    "interval_ms" INTEGER NOT NULL,
    "total_per_second" DOUBLE PRECISION NOT NULL,
    "cross_vm_per_second" DOUBLE PRECISION NOT NULL,
    "reset_actors" INTEGER NOT NULL,
    "vms" JSONB NOT NULL,
    "vm_pairs" JSONB NOT NULL,
    "groups" JSONB NOT NULL,
    "group_pairs" JSONB NOT NULL,

    CONSTRAINT "application_communication_pkey" PRIMARY KEY ("application_id","at")
);
CREATE INDEX "application_communication_at_idx" ON "application_communication"("at");
