import type { Metadata } from "next";
import { ChartsView } from "../../../components/charts-view";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Charts · Malleo" };

export default function ChartsPage() {
  return <ChartsView />;
}
