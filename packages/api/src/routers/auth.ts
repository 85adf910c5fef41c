import { z } from "zod";
import {
  changePassword,
  clearedSessionCookie,
  sessionCookie,
  sessionTokenFromHeaders,
  signIn,
  signOut,
} from "../auth/authenticate";
import { ROLES } from "../auth/roles";
import { SignInThrottled } from "../auth/throttle";
import { createTRPCRouter, publicProcedure, viewerProcedure } from "../trpc";

const meOutput = z.object({ id: z.string(), name: z.string(), role: z.enum(ROLES), via: z.enum(["session", "token"]) });

export const authRouter = createTRPCRouter({
  /** Checks the password, opens a session stored in Postgres and sets its httpOnly cookie. */
  signIn: publicProcedure
    .input(
      z
        .object({
          name: z.string().trim().min(1, { error: "enter your user name" }).max(64),
          password: z.string().min(1, { error: "enter your password" }).max(256),
        })
        .strict(),
    )
    .output(meOutput)
    .mutation(async ({ ctx, input }) => {
      const s = await signIn(ctx.db, input.name, input.password, {
        clientAddress: ctx.clientAddress,
        throttle: ctx.signInThrottle,
      }).catch((e: unknown) => {
        if (e instanceof SignInThrottled) ctx.resHeaders?.set("retry-after", String(e.retryAfterS));
        throw e;
      });
      ctx.resHeaders?.append("set-cookie", sessionCookie(s.token, s.expiresAt, ctx.secureCookies ?? false));
      return s.user;
    }),

  /** Ends this browser's session (deleted from Postgres, cookie cleared). */
  signOut: viewerProcedure.output(z.object({ ok: z.literal(true) })).mutation(async ({ ctx }) => {
    await signOut(ctx.db, sessionTokenFromHeaders(ctx.headers));
    ctx.resHeaders?.append("set-cookie", clearedSessionCookie());
    return { ok: true as const };
  }),

  /** Changes the signed-in user's own password; the current one is required. Other sessions end. */
  changePassword: viewerProcedure
    .input(
      z
        .object({
          currentPassword: z.string().min(1, { error: "enter your current password" }).max(256),
          newPassword: z.string().min(12, { error: "a password has at least 12 characters" }).max(256),
        })
        .strict(),
    )
    .output(z.object({ ok: z.literal(true) }))
    .mutation(async ({ ctx, input }) => {
      await changePassword(ctx.db, ctx.user, input.currentPassword, input.newPassword, {
        clientAddress: ctx.clientAddress,
        throttle: ctx.signInThrottle,
        sessionToken: sessionTokenFromHeaders(ctx.headers),
      }).catch((e: unknown) => {
        if (e instanceof SignInThrottled) ctx.resHeaders?.set("retry-after", String(e.retryAfterS));
        throw e;
      });
      return { ok: true as const };
    }),

  /** Who is signed in, with which role. */
  me: viewerProcedure.output(meOutput).query(({ ctx }) => ctx.user),
});
