-- "Test connection": a URI an admin wants tried before registering it. The API writes the request,
-- a worker (only workers talk to libvirt) claims it, tries the URI and writes the answer; the API
-- reads it and deletes the row.
CREATE TABLE "host_probes" (
    "id" UUID NOT NULL,
    "uri" TEXT NOT NULL,
    "requested_by" TEXT NOT NULL,
    "requested_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "claimed_by" TEXT,
    "answered_at" TIMESTAMP(3),
    "answer" JSONB,

    CONSTRAINT "host_probes_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "host_probes_requested_at_idx" ON "host_probes"("requested_at");
