/**
 * A write refused by a unique constraint (Prisma's P2002), thrown by repositories so that
 * callers above packages/db never see Prisma's error codes. It names the table and the
 * constraint (or the columns) when the driver reported them.
 */
export class UniqueViolation extends Error {
  readonly code = "UNIQUE_VIOLATION" as const;
  readonly table: string | undefined;
  readonly constraint: string | undefined;
  readonly fields: string[];

  constructor(what: { table?: string; constraint?: string; fields?: string[] }, options?: { cause?: unknown }) {
    const fields = what.fields ?? [];
    const on = what.constraint ?? (fields.length ? fields.join(", ") : undefined);
    super(`unique constraint violated${what.table ? ` in ${what.table}` : ""}${on ? ` (${on})` : ""}`, options);
    this.name = "UniqueViolation";
    this.table = what.table;
    this.constraint = what.constraint;
    this.fields = fields;
  }

  static is(e: unknown): e is UniqueViolation {
    return e instanceof UniqueViolation || (e instanceof Error && e.name === "UniqueViolation" && "constraint" in e);
  }
}

interface P2002Meta {
  target?: unknown;
  modelName?: unknown;
  driverAdapterError?: { cause?: { table?: unknown; constraint?: { index?: unknown; fields?: unknown } } };
}

/** Rethrows Prisma's unique-constraint failure as a UniqueViolation, anything else as it is. */
export function rethrowUniqueViolation(e: unknown): never {
  const err = e as { code?: unknown; meta?: P2002Meta };
  if (!(e instanceof Error) || err.code !== "P2002") throw e;
  const cause = err.meta?.driverAdapterError?.cause;
  const named = err.meta?.target ?? cause?.constraint?.fields;
  throw new UniqueViolation(
    {
      table: typeof cause?.table === "string" ? cause.table : undefined,
      constraint: typeof cause?.constraint?.index === "string" ? cause.constraint.index : undefined,
      fields: Array.isArray(named) ? named.map(String) : typeof named === "string" ? [named] : [],
    },
    { cause: e },
  );
}
