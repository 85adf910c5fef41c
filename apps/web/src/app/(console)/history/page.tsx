import type { Metadata } from "next";
import { Suspense } from "react";
import { HistoryView } from "../../../components/history-view";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "History · Malleo" };

export default function HistoryPage() {
  return (
    <Suspense fallback={<p className="placeholder">Loading history…</p>}>
      <HistoryView />
    </Suspense>
  );
}
