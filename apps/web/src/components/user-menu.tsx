"use client";

import { useMutation } from "@tanstack/react-query";
import { useState } from "react";
import { useTRPC } from "../trpc/react";
import { PasswordChange } from "./password-change";
import { useUser } from "./user-context";

export function UserMenu() {
  const user = useUser();
  const trpc = useTRPC();
  const [changing, setChanging] = useState(false);
  const signOut = useMutation(
    trpc.auth.signOut.mutationOptions({
      // A full navigation drops every cached query and the event stream of the old session.
      onSettled: () => window.location.assign("/sign-in"),
    }),
  );
  return (
    <span className="user-menu" data-testid="user-menu" data-role={user.role}>
      <span className="user-menu__name" data-testid="user-name">
        {user.name}
      </span>
      <span className={`role role--${user.role}`} data-testid="user-role">
        {user.role}
      </span>
      <button
        type="button"
        className="button button--small button--dark"
        data-testid="password-open"
        onClick={() => setChanging((c) => !c)}
      >
        Password
      </button>
      <button type="button" className="button button--small button--dark" data-testid="sign-out" onClick={() => signOut.mutate()}>
        Sign out
      </button>
      {changing && <PasswordChange onDone={() => setChanging(false)} />}
    </span>
  );
}
