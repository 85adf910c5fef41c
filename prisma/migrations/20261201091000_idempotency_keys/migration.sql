-- The client's idempotency key of the request that created an operation, and of the request that
-- cancelled it: a replay of the same key answers with the same operation instead of a second one.
ALTER TABLE "operations" ADD COLUMN "idempotency_key" TEXT;
ALTER TABLE "operations" ADD COLUMN "cancel_idempotency_key" TEXT;
CREATE UNIQUE INDEX "operations_idempotency_key_key" ON "operations"("idempotency_key");
