-- CreateEnum
CREATE TYPE "WorkerRole" AS ENUM ('standby', 'leader', 'stopped', 'dead');

-- CreateTable
CREATE TABLE "workers" (
    "executor_id" TEXT NOT NULL,
    "mediator_address" TEXT NOT NULL,
    "admin_url" TEXT,
    "pid" INTEGER NOT NULL,
    "hostname" TEXT NOT NULL,
    "role" "WorkerRole" NOT NULL DEFAULT 'standby',
    "started_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "heartbeat_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "leader_since" TIMESTAMP(3),
    "stopped_at" TIMESTAMP(3),
    "taken_over_by" TEXT,

    CONSTRAINT "workers_pkey" PRIMARY KEY ("executor_id")
);

-- CreateTable
CREATE TABLE "cluster_keys" (
    "name" TEXT NOT NULL,
    "key" BYTEA NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "cluster_keys_pkey" PRIMARY KEY ("name")
);
