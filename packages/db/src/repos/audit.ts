import type { Db } from "../client";
import type { Prisma } from "../generated/prisma/client";

export function auditAppend(
  db: Db,
  e: { actor: string; procedure: string; input: Prisma.InputJsonValue | null; ok: boolean; error?: string; operationId?: string },
) {
  return db.auditEvent.create({
    data: {
      actor: e.actor,
      procedure: e.procedure,
      input: e.input ?? undefined,
      ok: e.ok,
      error: e.error ?? null,
      operationId: e.operationId ?? null,
    },
  });
}

export interface AuditFilter {
  actor?: string;
  procedure?: string;
  operationId?: string;
  from?: Date;
  to?: Date;
}

function auditWhere(f: AuditFilter): Prisma.AuditEventWhereInput {
  return {
    ...(f.actor ? { actor: f.actor } : {}),
    ...(f.procedure ? { procedure: f.procedure } : {}),
    ...(f.operationId ? { operationId: f.operationId } : {}),
    ...(f.from || f.to ? { at: { ...(f.from ? { gte: f.from } : {}), ...(f.to ? { lte: f.to } : {}) } } : {}),
  };
}

export async function auditList(db: Db, f: AuditFilter, page: { offset: number; limit: number }) {
  const where = auditWhere(f);
  const [items, total] = await Promise.all([
    db.auditEvent.findMany({ where, orderBy: [{ at: "desc" }, { id: "desc" }], skip: page.offset, take: page.limit }),
    db.auditEvent.count({ where }),
  ]);
  return { items, total };
}
