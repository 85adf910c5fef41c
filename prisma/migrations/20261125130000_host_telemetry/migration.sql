-- CreateEnum
CREATE TYPE "ReconcileFindingKind" AS ENUM ('orphan', 'missing');

-- AlterTable
ALTER TABLE "hosts" ADD COLUMN     "accelerator" TEXT,
ADD COLUMN     "status_reason" TEXT;

-- CreateTable
CREATE TABLE "vm_cpu_samples" (
    "vm_id" UUID NOT NULL,
    "at" TIMESTAMP(3) NOT NULL,
    "cpu_percent" DOUBLE PRECISION NOT NULL,
    "samples" INTEGER NOT NULL DEFAULT 1,

    CONSTRAINT "vm_cpu_samples_pkey" PRIMARY KEY ("vm_id","at")
);

-- CreateTable
CREATE TABLE "reconcile_findings" (
    "id" BIGSERIAL NOT NULL,
    "host_id" TEXT NOT NULL,
    "kind" "ReconcileFindingKind" NOT NULL,
    "domain_name" TEXT NOT NULL,
    "vm_id" UUID,
    "detail" TEXT NOT NULL,
    "first_seen_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_seen_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "resolved_at" TIMESTAMP(3),

    CONSTRAINT "reconcile_findings_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "vm_cpu_samples_at_idx" ON "vm_cpu_samples"("at");

-- CreateIndex
CREATE INDEX "reconcile_findings_resolved_at_idx" ON "reconcile_findings"("resolved_at");

-- CreateIndex
CREATE UNIQUE INDEX "reconcile_findings_host_id_kind_domain_name_key" ON "reconcile_findings"("host_id", "kind", "domain_name");
