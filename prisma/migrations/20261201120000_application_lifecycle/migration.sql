-- Stopping, starting and deleting an application are operations too; a stopped application's
-- actors hold on their VMs, a deleted one's VMs and actors are gone (its history stays).
ALTER TYPE "OperationKind" ADD VALUE 'stop';
ALTER TYPE "OperationKind" ADD VALUE 'start';
ALTER TYPE "OperationKind" ADD VALUE 'delete';
ALTER TYPE "ApplicationStatus" ADD VALUE 'stopped';
ALTER TYPE "ApplicationStatus" ADD VALUE 'deleted';
