-- Sign-in attempts per account and per client address, in fixed windows, shared by every web process.
CREATE TABLE "sign_in_throttle" (
    "key" TEXT NOT NULL,
    "attempts" INTEGER NOT NULL,
    "window_started_at" TIMESTAMP(3) NOT NULL,
    CONSTRAINT "sign_in_throttle_pkey" PRIMARY KEY ("key")
);
CREATE INDEX "sign_in_throttle_window_started_at_idx" ON "sign_in_throttle"("window_started_at");
