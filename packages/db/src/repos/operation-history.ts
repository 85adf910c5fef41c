import type { Db } from "../client";
import { Prisma, type OperationKind, type OperationStatus } from "../generated/prisma/client";

/**
 * What History filters by. `vm` matches a source or target VM name (substring), `vmId` a source
 * or target VM exactly (a VM's page), `hostId` a source or target host.
 */
export interface OperationFilter {
  vm?: string;
  vmId?: string;
  hostId?: string;
  operator?: string;
  kind?: OperationKind;
  statuses?: OperationStatus[];
  from?: Date;
  to?: Date;
}

function planHas(field: "id" | "name" | "hostId", op: "ILIKE" | "=", value: string): Prisma.Sql {
  const cmp = op === "ILIKE" ? Prisma.sql`ILIKE ${`%${value.replace(/[\\%_]/g, (c) => `\\${c}`)}%`}` : Prisma.sql`= ${value}`;
  return Prisma.sql`(EXISTS (SELECT 1 FROM jsonb_array_elements(coalesce(o.plan->'sources', '[]'::jsonb)) s WHERE s->>${field} ${cmp})
    OR EXISTS (SELECT 1 FROM jsonb_array_elements(coalesce(o.plan->'targets', '[]'::jsonb)) t WHERE t->>${field} ${cmp}))`;
}

function operationWhere(f: OperationFilter): Prisma.Sql {
  const parts: Prisma.Sql[] = [Prisma.sql`TRUE`];
  if (f.vm) parts.push(planHas("name", "ILIKE", f.vm));
  if (f.vmId) parts.push(planHas("id", "=", f.vmId));
  if (f.hostId) parts.push(planHas("hostId", "=", f.hostId));
  if (f.operator) parts.push(Prisma.sql`o.operator = ${f.operator}`);
  if (f.kind) parts.push(Prisma.sql`o.kind = ${f.kind}::"OperationKind"`);
  if (f.statuses && f.statuses.length > 0) parts.push(Prisma.sql`o.status::text IN (${Prisma.join(f.statuses)})`);
  if (f.from) parts.push(Prisma.sql`o.created_at >= ${f.from}`);
  if (f.to) parts.push(Prisma.sql`o.created_at <= ${f.to}`);
  return Prisma.join(parts, " AND ");
}

/** One page of operations matching `f`, newest first, with the total count for page numbers. */
export async function operationSearch(db: Db, f: OperationFilter, page: { offset: number; limit: number }) {
  const where = operationWhere(f);
  const [ids, counted] = await Promise.all([
    db.$queryRaw<{ id: string }[]>`SELECT o.id::text AS id FROM operations o WHERE ${where}
      ORDER BY o.created_at DESC, o.id DESC OFFSET ${page.offset} LIMIT ${page.limit}`,
    db.$queryRaw<{ n: bigint }[]>`SELECT count(*) AS n FROM operations o WHERE ${where}`,
  ]);
  const rows = await db.operation.findMany({ where: { id: { in: ids.map((r) => r.id) } } });
  const byId = new Map(rows.map((r) => [r.id, r]));
  return { items: ids.map((r) => byId.get(r.id)!).filter(Boolean), total: Number(counted[0]?.n ?? 0) };
}

/** Distinct operators, for the History filter's choices. */
export async function operationOperators(db: Db): Promise<string[]> {
  const rows = await db.operation.findMany({ distinct: ["operator"], select: { operator: true }, orderBy: { operator: "asc" } });
  return rows.map((r) => r.operator);
}

/** How many of the planned actors already sit on their target VM (Transfer progress). */
export async function operationActorsArrived(db: Db, targets: { id: string; actors: string[] }[]): Promise<number> {
  let arrived = 0;
  for (const t of targets) {
    if (t.actors.length === 0) continue;
    arrived += await db.actor.count({ where: { vmId: t.id, uan: { in: t.actors } } });
  }
  return arrived;
}

/** Each finished step of the last `limit` operations: what the duration-by-step chart and the pause estimate read. */
export async function stepDurations(db: Db, limit: number) {
  return db.$queryRaw<
    { operationId: string; kind: OperationKind; createdAt: Date; name: string; status: string; ms: number; detail: unknown }[]
  >`SELECT s.operation_id::text AS "operationId", o.kind, o.created_at AS "createdAt", s.name, s.status::text AS status,
        (EXTRACT(EPOCH FROM (s.finished_at - s.started_at)) * 1000)::float8 AS ms, s.detail
      FROM operation_steps s
      JOIN (SELECT id, kind, created_at FROM operations ORDER BY created_at DESC LIMIT ${limit}) o ON o.id = s.operation_id
     WHERE s.finished_at IS NOT NULL
     ORDER BY o.created_at ASC, s.id ASC`;
}
