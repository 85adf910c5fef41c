-- An API token may expire (null: until revoked).
ALTER TABLE "api_tokens" ADD COLUMN "expires_at" TIMESTAMP(3);
