import { AppError } from "@malleo/core";
import {
  UniqueViolation,
  apiTokenCreate,
  apiTokenList,
  apiTokenRevoke,
  userChangePassword,
  userCreate,
  userDisable,
  userEnable,
  userList,
  userSetRole,
} from "@malleo/db";
import { z } from "zod";
import { hashPassword } from "../auth/passwords";
import { ROLES } from "../auth/roles";
import { hashSecret, newSecret } from "../auth/secrets";
import { adminProcedure, createTRPCRouter } from "../trpc";

const userOutput = z.object({
  id: z.string(),
  name: z.string(),
  role: z.enum(ROLES),
  createdAt: z.date(),
  createdBy: z.string().nullable(),
  disabledAt: z.date().nullable(),
});

const tokenOutput = z.object({
  id: z.string(),
  name: z.string(),
  createdAt: z.date(),
  lastUsedAt: z.date().nullable(),
  revokedAt: z.date().nullable(),
  expiresAt: z.date().nullable(),
  /** The admin who created the token; null for tokens from before this was recorded. */
  createdBy: z.string().nullable(),
  user: z.object({ id: z.string(), name: z.string(), role: z.enum(ROLES) }),
});

const userName = z
  .string()
  .trim()
  .regex(/^[a-z0-9][a-z0-9._-]{1,31}$/i, { error: "a user name is 2 to 32 letters, digits, dots, dashes or underscores" });

const userId = z.uuid({ error: "a user id is a UUID, as listed on the Admin page" });
const tokenId = z.uuid({ error: "a token id is a UUID, as listed on the Admin page" });

function uniqueName(e: unknown, name: string): never {
  if (UniqueViolation.is(e)) throw new AppError("INVALID_INPUT", `a user named ${name} already exists`, { name });
  throw e;
}

export const usersRouter = createTRPCRouter({
  list: adminProcedure.output(z.array(userOutput)).query(({ ctx }) => userList(ctx.db)),

  /** Creates a user with a role and an initial password the admin hands over. */
  create: adminProcedure
    .input(
      z
        .object({
          name: userName,
          role: z.enum(ROLES, { error: "the role is viewer, operator or admin" }),
          password: z.string().min(12, { error: "a password has at least 12 characters" }).max(256),
        })
        .strict(),
    )
    .output(userOutput)
    .mutation(async ({ ctx, input }) =>
      userCreate(ctx.db, {
        name: input.name,
        role: input.role,
        passwordHash: await hashPassword(input.password),
        createdBy: ctx.user.name,
      }).catch((e) => uniqueName(e, input.name)),
    ),

  setRole: adminProcedure
    .input(z.object({ id: userId, role: z.enum(ROLES, { error: "the role is viewer, operator or admin" }) }).strict())
    .output(userOutput)
    .mutation(({ ctx, input }) => {
      if (input.id === ctx.user.id) throw new AppError("INVALID_INPUT", "you cannot change your own role; ask another admin");
      return userSetRole(ctx.db, input.id, input.role);
    }),

  /** Disables a user: their sessions end and their API tokens are revoked. */
  disable: adminProcedure
    .input(z.object({ id: userId }).strict())
    .output(userOutput)
    .mutation(({ ctx, input }) => {
      if (input.id === ctx.user.id) throw new AppError("INVALID_INPUT", "you cannot disable yourself");
      return userDisable(ctx.db, input.id);
    }),

  /** Sets a new password for another user (who forgot theirs); every session of theirs ends. */
  resetPassword: adminProcedure
    .input(
      z
        .object({ id: userId, password: z.string().min(12, { error: "a password has at least 12 characters" }).max(256) })
        .strict(),
    )
    .output(userOutput)
    .mutation(async ({ ctx, input }) => {
      if (input.id === ctx.user.id)
        throw new AppError("INVALID_INPUT", "change your own password with auth.changePassword (it asks for the current one)");
      return userChangePassword(ctx.db, input.id, await hashPassword(input.password));
    }),

  /** Re-enables a disabled user; their old sessions and API tokens stay ended. */
  enable: adminProcedure
    .input(z.object({ id: userId }).strict())
    .output(userOutput)
    .mutation(({ ctx, input }) => userEnable(ctx.db, input.id)),

  tokens: adminProcedure.output(z.array(tokenOutput)).query(({ ctx }) => apiTokenList(ctx.db)),

  /**
   * Creates an API token acting as `userId`; the secret is returned once and only its hash is
   * kept. With `expiresInDays` it stops working that many days from now; without, when revoked.
   */
  createToken: adminProcedure
    .input(
      z
        .object({
          userId,
          name: z.string().trim().min(1, { error: "name the token (what uses it)" }).max(64),
          expiresInDays: z
            .number()
            .int({ error: "expiresInDays is a whole number of days from 1 to 3650" })
            .min(1, { error: "expiresInDays is a whole number of days from 1 to 3650" })
            .max(3650, { error: "expiresInDays is a whole number of days from 1 to 3650" })
            .optional(),
        })
        .strict(),
    )
    .output(z.object({ token: tokenOutput, secret: z.string() }))
    .mutation(async ({ ctx, input }) => {
      const secret = newSecret("mlt");
      const token = await apiTokenCreate(ctx.db, {
        userId: input.userId,
        name: input.name,
        tokenHash: hashSecret(secret),
        expiresAt: input.expiresInDays ? new Date(Date.now() + input.expiresInDays * 86_400_000) : null,
        createdBy: ctx.user.name,
      });
      return { token, secret };
    }),

  revokeToken: adminProcedure
    .input(z.object({ id: tokenId }).strict())
    .output(z.object({ revoked: z.boolean() }))
    .mutation(({ ctx, input }) => apiTokenRevoke(ctx.db, input.id)),
});
