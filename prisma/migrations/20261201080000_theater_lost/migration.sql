-- A VM whose theater stopped answering (process gone, guest crashed, host lost) and did not come
-- back within the grace period: its actors are gone until the application is restored.
ALTER TYPE "VmState" ADD VALUE 'lost';

-- Reconciliation reports lost VMs beside orphans and missing domains.
ALTER TYPE "ReconcileFindingKind" ADD VALUE 'lost';

-- An application is degraded while some of its actors are lost (status_reason says which VM,
-- how many actors and the checkpoint it can come back from).
CREATE TYPE "ApplicationStatus" AS ENUM ('running', 'degraded');
ALTER TABLE "applications" ADD COLUMN "status" "ApplicationStatus" NOT NULL DEFAULT 'running',
ADD COLUMN "status_reason" TEXT;
