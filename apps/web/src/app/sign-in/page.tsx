import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { SignInForm } from "../../components/sign-in-form";
import { safeNextPath } from "../../lib/next-path";
import { currentUser } from "../../server/auth";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Sign in · Malleo" };

export default async function SignInPage({ searchParams }: { searchParams: Promise<{ next?: string | string[] }> }) {
  const asked = (await searchParams).next;
  const next = safeNextPath(typeof asked === "string" ? asked : null);
  if (await currentUser()) redirect(next);
  return <SignInForm next={next} />;
}
