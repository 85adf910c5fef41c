-- CreateEnum
CREATE TYPE "HostStatus" AS ENUM ('online', 'unreachable');
CREATE TYPE "VmState" AS ENUM ('provisioning', 'running', 'deleting', 'deleted', 'failed');
CREATE TYPE "OperationKind" AS ENUM ('split', 'merge');
CREATE TYPE "OperationStatus" AS ENUM ('queued', 'running', 'rolling_back', 'succeeded', 'failed', 'rolled_back');
CREATE TYPE "StepStatus" AS ENUM ('running', 'succeeded', 'failed', 'compensated');

-- CreateTable
CREATE TABLE "hosts" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "uri" TEXT NOT NULL,
    "cpus" INTEGER NOT NULL,
    "memory_mib" INTEGER NOT NULL,
    "vm_quota" INTEGER NOT NULL,
    "status" "HostStatus" NOT NULL DEFAULT 'online',
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "hosts_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "applications" (
    "id" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "config" JSONB NOT NULL,
    "iteration" INTEGER NOT NULL DEFAULT 0,
    "updated_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "applications_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "vms" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "host_id" TEXT NOT NULL,
    "application_id" TEXT NOT NULL,
    "vcpus" INTEGER NOT NULL,
    "memory_mib" INTEGER NOT NULL,
    "state" "VmState" NOT NULL DEFAULT 'provisioning',
    "locked_by" UUID,
    "created_by" UUID,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "deleted_at" TIMESTAMP(3),
    CONSTRAINT "vms_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "actors" (
    "uan" TEXT NOT NULL,
    "application_id" TEXT NOT NULL,
    "vm_id" UUID NOT NULL,
    "behavior" TEXT NOT NULL,
    "ordinal" INTEGER NOT NULL,
    "updated_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "actors_pkey" PRIMARY KEY ("uan")
);

CREATE TABLE "operations" (
    "id" UUID NOT NULL,
    "kind" "OperationKind" NOT NULL,
    "status" "OperationStatus" NOT NULL DEFAULT 'queued',
    "input" JSONB NOT NULL,
    "plan" JSONB,
    "error" TEXT,
    "operator" TEXT NOT NULL DEFAULT 'operator',
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "started_at" TIMESTAMP(3),
    "finished_at" TIMESTAMP(3),
    CONSTRAINT "operations_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "operation_steps" (
    "id" BIGSERIAL NOT NULL,
    "operation_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "status" "StepStatus" NOT NULL,
    "attempt" INTEGER NOT NULL DEFAULT 1,
    "detail" JSONB,
    "error" TEXT,
    "started_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finished_at" TIMESTAMP(3),
    CONSTRAINT "operation_steps_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "hosts_name_key" ON "hosts"("name");
CREATE UNIQUE INDEX "vms_name_key" ON "vms"("name");
CREATE INDEX "vms_host_id_idx" ON "vms"("host_id");
CREATE INDEX "actors_vm_id_idx" ON "actors"("vm_id");
CREATE INDEX "operations_created_at_idx" ON "operations"("created_at");
CREATE INDEX "operation_steps_operation_id_idx" ON "operation_steps"("operation_id");

-- AddForeignKey
ALTER TABLE "vms" ADD CONSTRAINT "vms_host_id_fkey" FOREIGN KEY ("host_id") REFERENCES "hosts"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "vms" ADD CONSTRAINT "vms_application_id_fkey" FOREIGN KEY ("application_id") REFERENCES "applications"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "actors" ADD CONSTRAINT "actors_application_id_fkey" FOREIGN KEY ("application_id") REFERENCES "applications"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "actors" ADD CONSTRAINT "actors_vm_id_fkey" FOREIGN KEY ("vm_id") REFERENCES "vms"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "operation_steps" ADD CONSTRAINT "operation_steps_operation_id_fkey" FOREIGN KEY ("operation_id") REFERENCES "operations"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
