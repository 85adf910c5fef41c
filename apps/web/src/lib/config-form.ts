/**
 * The deploy form's configuration fields, generated from an application's config schema as the
 * API gives it (JSON Schema, `applications.kinds`), and the configuration read back from them.
 * The checks here only help the form; the server checks the result with the application's own schema.
 */

export type ConfigFieldType = "integer" | "number" | "boolean" | "string" | "json";

export interface ConfigField {
  name: string;
  type: ConfigFieldType;
  /** null is a valid value ("none"). */
  nullable: boolean;
  required: boolean;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  description?: string;
}

/** A field's value in the form: the text typed (or JSON), whether it is set to null, or a checkbox. */
export type ConfigValue = { text: string; isNull: boolean } | boolean;

type Schema = Record<string, unknown>;

function asSchema(v: unknown): Schema {
  return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Schema) : {};
}

const num = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) ? v : undefined);

/** One property's field: `anyOf: [X, {type: "null"}]` (zod's nullable) is X, nullable. */
function fieldOf(name: string, schema: Schema, required: boolean): ConfigField {
  let s = schema;
  let nullable = false;
  const alternatives = Array.isArray(s.anyOf) ? s.anyOf.map(asSchema) : null;
  if (alternatives) {
    const others = alternatives.filter((a) => a.type !== "null");
    nullable = others.length < alternatives.length;
    s = others.length === 1 ? others[0]! : {};
  }
  let type = s.type;
  if (Array.isArray(type)) {
    nullable ||= type.includes("null");
    const rest = type.filter((t) => t !== "null");
    type = rest.length === 1 ? rest[0] : undefined;
  }
  const field: ConfigField = {
    name,
    type: type === "integer" || type === "number" || type === "boolean" || type === "string" ? type : "json",
    nullable,
    required,
  };
  for (const key of ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"] as const) {
    const n = num(s[key]);
    // zod writes the safe-integer bounds of .int(): not worth saying.
    if (n !== undefined && Math.abs(n) < Number.MAX_SAFE_INTEGER) field[key] = n;
  }
  const description = schema.description ?? s.description;
  if (typeof description === "string") field.description = description;
  return field;
}

/** The fields of an object schema, in the schema's order; none for any other schema. */
export function configFields(schema: unknown): ConfigField[] {
  const s = asSchema(schema);
  const properties = asSchema(s.properties);
  const required = new Set(Array.isArray(s.required) ? s.required.filter((r): r is string => typeof r === "string") : []);
  return Object.entries(properties).map(([name, p]) => fieldOf(name, asSchema(p), required.has(name)));
}

/** The form's starting values: the kind's default configuration, or empty. */
export function initialValues(fields: ConfigField[], defaults: unknown): Record<string, ConfigValue> {
  const d = asSchema(defaults);
  const values: Record<string, ConfigValue> = {};
  for (const f of fields) {
    const v = d[f.name];
    if (f.type === "boolean") values[f.name] = v === true;
    else if (v === null) values[f.name] = { text: "", isNull: true };
    else if (v === undefined) values[f.name] = { text: "", isNull: false };
    else values[f.name] = { text: f.type === "json" ? JSON.stringify(v) : String(v), isNull: false };
  }
  return values;
}

/** The range a number field accepts, in words ("2 to 200000", "above 0 and below 1"). */
export function rangeText(f: ConfigField): string | null {
  const low = f.minimum !== undefined ? `${f.minimum}` : f.exclusiveMinimum !== undefined ? `above ${f.exclusiveMinimum}` : null;
  const high = f.maximum !== undefined ? `${f.maximum}` : f.exclusiveMaximum !== undefined ? `below ${f.exclusiveMaximum}` : null;
  if (low && high) return f.minimum !== undefined && f.maximum !== undefined ? `${low} to ${high}` : `${low} and ${high}`;
  if (low) return f.minimum !== undefined ? `at least ${low}` : low;
  if (high) return f.maximum !== undefined ? `at most ${high}` : high;
  return null;
}

function numberProblem(f: ConfigField, n: number): string | null {
  if (f.type === "integer" && !Number.isInteger(n)) return `${f.name}: a whole number`;
  const outside =
    (f.minimum !== undefined && n < f.minimum) ||
    (f.maximum !== undefined && n > f.maximum) ||
    (f.exclusiveMinimum !== undefined && n <= f.exclusiveMinimum) ||
    (f.exclusiveMaximum !== undefined && n >= f.exclusiveMaximum);
  return outside ? `${f.name}: ${rangeText(f)}` : null;
}

/** The configuration the form's values make, or what is wrong with them (one line per field). */
export function configFromValues(
  fields: ConfigField[],
  values: Record<string, ConfigValue>,
): { config: Record<string, unknown>; problems: string[] } {
  const config: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const f of fields) {
    const v = values[f.name];
    if (typeof v === "boolean" || f.type === "boolean") {
      config[f.name] = v === true;
      continue;
    }
    if (!v) continue;
    if (v.isNull && f.nullable) {
      config[f.name] = null;
      continue;
    }
    const text = v.text.trim();
    if (text === "") {
      if (f.required) problems.push(`${f.name}: required`);
      continue;
    }
    if (f.type === "string") {
      config[f.name] = v.text;
    } else if (f.type === "json") {
      try {
        config[f.name] = JSON.parse(text) as unknown;
      } catch {
        problems.push(`${f.name}: not valid JSON`);
      }
    } else {
      const n = Number(text);
      const problem = Number.isFinite(n) ? numberProblem(f, n) : `${f.name}: a number`;
      if (problem) problems.push(problem);
      else config[f.name] = n;
    }
  }
  return { config, problems };
}
