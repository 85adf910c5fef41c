import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { SignInForm } from "../../components/sign-in-form";
import { currentUser } from "../../server/auth";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Sign in · Malleo" };

export default async function SignInPage() {
  if (await currentUser()) redirect("/");
  return <SignInForm />;
}
