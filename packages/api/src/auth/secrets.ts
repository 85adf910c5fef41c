import { createHash, randomBytes } from "node:crypto";

/** A bearer secret: a readable prefix and 32 random bytes. Only its sha256 is stored. */
export function newSecret(prefix: "mls" | "mlt"): string {
  return `${prefix}_${randomBytes(32).toString("base64url")}`;
}

export function hashSecret(secret: string): string {
  return createHash("sha256").update(secret).digest("hex");
}
