-- Who created an API token (the admin's user name); null for tokens created before this was kept.
ALTER TABLE "api_tokens" ADD COLUMN "created_by" TEXT;
