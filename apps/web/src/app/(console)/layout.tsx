import Link from "next/link";
import { redirect } from "next/navigation";
import type { ReactNode } from "react";
import { LiveEventsProvider, LiveIndicator } from "../../components/live-events";
import { UserProvider } from "../../components/user-context";
import { UserMenu } from "../../components/user-menu";
import { currentUser } from "../../server/auth";

// Every console page depends on who is signed in.
export const dynamic = "force-dynamic";

export default async function ConsoleLayout({ children }: { children: ReactNode }) {
  const user = await currentUser();
  if (!user) redirect("/sign-in");
  return (
    <UserProvider user={{ id: user.id, name: user.name, role: user.role }}>
      <LiveEventsProvider>
        <header className="topbar">
          <Link href="/" className="brand">
            <span className="brand__mark" aria-hidden>
              ◧
            </span>
            Malleo
          </Link>
          <nav className="topbar__nav" aria-label="Main">
            <Link href="/" data-testid="nav-topology">
              Topology
            </Link>
            <Link href="/history" data-testid="nav-history">
              History
            </Link>
            <Link href="/charts" data-testid="nav-charts">
              Charts
            </Link>
            {user.role === "admin" && (
              <Link href="/admin" data-testid="nav-admin">
                Admin
              </Link>
            )}
          </nav>
          <LiveIndicator />
          <UserMenu />
        </header>
        <main className="content">{children}</main>
      </LiveEventsProvider>
    </UserProvider>
  );
}
