import { vmGet } from "@malleo/db";
import type { Metadata } from "next";
import { notFound } from "next/navigation";
import { VmView } from "../../../../components/vm-view";
import { getDb } from "../../../../server/services";

export const dynamic = "force-dynamic";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The VM's row, or null for an id that is not a UUID or names no VM (deleted VMs keep theirs). */
async function findVm(id: string) {
  return UUID.test(id) ? vmGet(getDb(), id) : null;
}

export async function generateMetadata({ params }: { params: Promise<{ id: string }> }): Promise<Metadata> {
  const vm = await findVm((await params).id);
  return { title: vm ? `${vm.name} · VMs · Malleo` : "Not found · Malleo" };
}

export default async function VmPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  // An unknown id is the console's not-found page (with its nav), not an error.
  if (!(await findVm(id))) notFound();
  return <VmView id={id} />;
}
