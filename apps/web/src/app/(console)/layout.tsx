import { headers } from "next/headers";
import { redirect } from "next/navigation";
import type { ReactNode } from "react";
import { LiveEventsProvider } from "../../components/live-events";
import { TaskBar } from "../../components/task-bar";
import { TopBar } from "../../components/top-bar";
import { UserProvider } from "../../components/user-context";
import { signInHref } from "../../lib/next-path";
import { PATH_HEADER } from "../../proxy";
import { currentUser } from "../../server/auth";

// Every console page depends on who is signed in.
export const dynamic = "force-dynamic";

export default async function ConsoleLayout({ children }: { children: ReactNode }) {
  const user = await currentUser();
  // Sign-in brings the visitor back to the page asked for (the proxy names it).
  if (!user) redirect(signInHref((await headers()).get(PATH_HEADER)));
  return (
    <UserProvider user={{ id: user.id, name: user.name, role: user.role }}>
      <LiveEventsProvider>
        <TopBar />
        <TaskBar />
        <main className="content">{children}</main>
      </LiveEventsProvider>
    </UserProvider>
  );
}
