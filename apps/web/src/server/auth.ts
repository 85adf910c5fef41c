import { SESSION_COOKIE, userForSessionToken, type AuthUser } from "@malleo/api";
import { cookies } from "next/headers";
import { getDb } from "./services";

/** The signed-in user of this request (session cookie), or null. */
export async function currentUser(): Promise<AuthUser | null> {
  const token = (await cookies()).get(SESSION_COOKIE)?.value;
  return userForSessionToken(getDb(), token);
}
