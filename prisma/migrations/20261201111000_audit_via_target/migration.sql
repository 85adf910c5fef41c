-- How an audited request proved who it was ("session" or "token"; null for the worker's own
-- records), and what it acted on in words ("vera (viewer)", "host pm-4"), for auditors.
ALTER TABLE "audit_events" ADD COLUMN "via" TEXT;
ALTER TABLE "audit_events" ADD COLUMN "target" TEXT;
