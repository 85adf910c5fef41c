-- Deploying an application is an operation like a split or a merge (same locks, steps, records).
ALTER TYPE "OperationKind" ADD VALUE 'deploy';
