import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { AdminView } from "../../../components/admin-view";
import { currentUser } from "../../../server/auth";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Admin · Malleo" };

export default async function AdminPage() {
  const user = await currentUser();
  if (user?.role !== "admin") redirect("/");
  return <AdminView />;
}
