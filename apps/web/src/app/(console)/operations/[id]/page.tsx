import type { Metadata } from "next";
import { OperationView } from "../../../../components/operation-view";

export const dynamic = "force-dynamic";

export async function generateMetadata({ params }: { params: Promise<{ id: string }> }): Promise<Metadata> {
  const { id } = await params;
  return { title: `Operation ${id.slice(0, 8)} · Malleo` };
}

export default async function OperationPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return <OperationView id={id} />;
}
