import type { Metadata } from "next";
import { HistoryView } from "../../components/history-view";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "History · Malleo" };

export default function HistoryPage() {
  return <HistoryView />;
}
