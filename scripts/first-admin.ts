// The first admin: created by `npm start` when no user exists, with the password from
// MALLEO_ADMIN_PASSWORD or a generated one printed once (only its scrypt hash is stored).
import { generatePassword, hashPassword } from "@malleo/api";
import { userCreateFirst, type Db } from "@malleo/db";

export async function ensureFirstAdmin(db: Db, fromEnv: string | undefined, say: (m: string) => void): Promise<void> {
  if (fromEnv !== undefined && fromEnv.length < 12) throw new Error("MALLEO_ADMIN_PASSWORD must have at least 12 characters");
  const password = fromEnv ?? generatePassword();
  const created = await userCreateFirst(db, { name: "admin", role: "admin", passwordHash: await hashPassword(password) });
  if (!created) return;
  if (fromEnv) say("created the first admin: user admin, password from MALLEO_ADMIN_PASSWORD");
  else say(`created the first admin: user admin, one-time password ${password}  (shown once; sign in and create your own users)`);
}
