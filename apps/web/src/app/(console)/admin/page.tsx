import { roleAllows } from "@malleo/api/roles";
import type { Metadata } from "next";
import Link from "next/link";
import { AdminView } from "../../../components/admin-view";
import { currentUser } from "../../../server/auth";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Admin · Malleo" };

export default async function AdminPage() {
  const user = await currentUser();
  if (!user || !roleAllows(user.role, "admin")) {
    // Said, not a silent redirect: the person knows why the page is not there for them.
    return (
      <div className="placeholder" data-testid="admin-needs-role">
        <h1>Admin needs the admin role</h1>
        <p>
          You are signed in as <strong>{user?.name}</strong> with the <strong>{user?.role}</strong> role. Users, API tokens and
          hosts are managed by an admin; ask one to change your role. Meanwhile, the <Link href="/">Topology</Link> and the{" "}
          <Link href="/history">History</Link> are open to you.
        </p>
      </div>
    );
  }
  return <AdminView />;
}
