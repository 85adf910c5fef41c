-- How actors moved and what it cost the application (live malleability).
ALTER TABLE "operations" ADD COLUMN "transfer_mode" TEXT;
ALTER TABLE "operations" ADD COLUMN "pause_ms" DOUBLE PRECISION;
ALTER TABLE "operations" ADD COLUMN "hold_p50_ms" DOUBLE PRECISION;
ALTER TABLE "operations" ADD COLUMN "hold_p99_ms" DOUBLE PRECISION;
ALTER TABLE "operations" ADD COLUMN "hold_max_ms" DOUBLE PRECISION;
