import { parseAllowedOrigins } from "@malleo/api/request-origin";
import { z } from "zod";

/**
 * The web process's configuration, validated once at start (create-t3-app's env.ts). Nothing
 * else reads process.env. `next build` evaluates route modules without a database, so during
 * the build a placeholder URL is allowed; nothing connects then.
 */
const building = process.env.NEXT_PHASE === "phase-production-build";

const schema = z.object({
  DATABASE_URL: z
    .string({ error: "DATABASE_URL is required: the Postgres database Malleo records operations in" })
    .regex(/^postgres(ql)?:\/\/\S+$/, { error: "DATABASE_URL must be a postgres:// or postgresql:// URL" }),
  PORT: z.coerce.number().int().min(1).max(65_535).optional(),
  NODE_ENV: z.enum(["development", "production", "test"]).default("production"),
  /** Origins besides the web process's own (its Host header) that may send changes: `https://host[:port]`, comma-separated. */
  MALLEO_ALLOWED_ORIGINS: z
    .string()
    .optional()
    .transform((v, ctx) => {
      try {
        return parseAllowedOrigins(v);
      } catch (e) {
        ctx.addIssue({ code: "custom", message: (e as Error).message });
        return z.NEVER;
      }
    }),
  /** "1" when every request comes through a reverse proxy that sets X-Forwarded-Proto/Host/For. */
  MALLEO_TRUST_PROXY: z
    .enum(["0", "1", "true", "false"], { error: 'MALLEO_TRUST_PROXY must be "1" (behind a reverse proxy) or "0"' })
    .optional()
    .transform((v) => v === "1" || v === "true"),
});

function loadEnv() {
  const raw = {
    DATABASE_URL: process.env.DATABASE_URL ?? (building ? "postgres://build/placeholder" : undefined),
    PORT: process.env.PORT || undefined,
    NODE_ENV: process.env.NODE_ENV,
    MALLEO_ALLOWED_ORIGINS: process.env.MALLEO_ALLOWED_ORIGINS,
    MALLEO_TRUST_PROXY: process.env.MALLEO_TRUST_PROXY || undefined,
  };
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`).join("\n");
    throw new Error(`invalid environment for the Malleo web UI:\n${problems}`);
  }
  return parsed.data;
}

export const env = loadEnv();
