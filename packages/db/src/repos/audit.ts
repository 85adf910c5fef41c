import type { Db } from "../client";
import type { Prisma } from "../generated/prisma/client";

export function auditAppend(
  db: Db,
  e: {
    actor: string;
    procedure: string;
    input: Prisma.InputJsonValue | null;
    ok: boolean;
    error?: string;
    operationId?: string;
    via?: "session" | "token";
    target?: string;
  },
) {
  return db.auditEvent.create({
    data: {
      actor: e.actor,
      procedure: e.procedure,
      input: e.input ?? undefined,
      ok: e.ok,
      error: e.error ?? null,
      operationId: e.operationId ?? null,
      via: e.via ?? null,
      target: e.target ?? null,
    },
  });
}

export interface AuditFilter {
  actor?: string;
  procedure?: string;
  operationId?: string;
  from?: Date;
  to?: Date;
  /** true: allowed requests only; false: refusals (and the worker's alerts) only. */
  ok?: boolean;
}

function auditWhere(f: AuditFilter): Prisma.AuditEventWhereInput {
  return {
    ...(f.actor ? { actor: f.actor } : {}),
    ...(f.procedure ? { procedure: f.procedure } : {}),
    ...(f.operationId ? { operationId: f.operationId } : {}),
    ...(f.ok !== undefined ? { ok: f.ok } : {}),
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

/** Who appears in the audit log and what they did, for the log's filters (bounded). */
export async function auditFacets(db: Db) {
  const [actors, procedures] = await Promise.all([
    db.auditEvent.findMany({ distinct: ["actor"], select: { actor: true }, orderBy: { actor: "asc" }, take: 500 }),
    db.auditEvent.findMany({ distinct: ["procedure"], select: { procedure: true }, orderBy: { procedure: "asc" }, take: 500 }),
  ]);
  return { actors: actors.map((a) => a.actor), procedures: procedures.map((p) => p.procedure) };
}
