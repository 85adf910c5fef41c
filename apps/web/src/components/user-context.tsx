"use client";

import { roleAllows, type Role } from "@malleo/api/roles";
import { createContext, useContext, type ReactNode } from "react";

export interface SignedInUser {
  id: string;
  name: string;
  role: Role;
}

const UserContext = createContext<SignedInUser | null>(null);

export function UserProvider({ user, children }: { user: SignedInUser; children: ReactNode }) {
  return <UserContext.Provider value={user}>{children}</UserContext.Provider>;
}

export function useUser(): SignedInUser {
  const u = useContext(UserContext);
  if (!u) throw new Error("useUser outside the signed-in console");
  return u;
}

/** Whether the signed-in user may split, merge and cancel (the API enforces it; the UI only stops offering it). */
export function useCanOperate(): boolean {
  return roleAllows(useUser().role, "operator");
}

export function useIsAdmin(): boolean {
  return roleAllows(useUser().role, "admin");
}
