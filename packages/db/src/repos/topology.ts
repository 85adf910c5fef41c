import type { Db } from "../client";

/** Hosts → live VMs → actors, for the topology page. */
export async function topologyGet(db: Db) {
  const [hosts, apps] = await Promise.all([
    db.host.findMany({
      orderBy: { id: "asc" },
      include: {
        vms: {
          where: { state: { not: "deleted" } },
          orderBy: { createdAt: "asc" },
          include: { actors: { orderBy: { ordinal: "asc" }, select: { uan: true, ordinal: true, behavior: true } } },
        },
      },
    }),
    db.application.findMany({ orderBy: { id: "asc" } }),
  ]);
  return { hosts, applications: apps };
}
