import type { Metadata } from "next";
import { ApplicationsView } from "../../../components/applications-view";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Applications · Malleo" };

export default function ApplicationsPage() {
  return <ApplicationsView />;
}
