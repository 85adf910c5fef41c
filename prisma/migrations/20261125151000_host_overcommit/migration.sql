-- AlterTable: per-host overcommit ratios. Placement counts a host's CPUs × cpu_overcommit and its
-- memory × memory_overcommit; 1.0 (the default) places no more than the host has.
ALTER TABLE "hosts" ADD COLUMN     "cpu_overcommit" DOUBLE PRECISION NOT NULL DEFAULT 1.0,
ADD COLUMN     "memory_overcommit" DOUBLE PRECISION NOT NULL DEFAULT 1.0;
