-- AlterEnum
ALTER TYPE "OperationStatus" ADD VALUE 'cleanup_pending';

-- AlterTable
ALTER TABLE "operations" ADD COLUMN     "cancel_requested_at" TIMESTAMP(3),
ADD COLUMN     "cancelled_by" TEXT,
ADD COLUMN     "ready_decision" TEXT,
ADD COLUMN     "waiting_reason" TEXT;
