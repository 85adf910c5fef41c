/**
 * What every procedure refuses before its own schema runs, and how any input is made safe to
 * record. Both walk the raw input (a JSON value from the wire) without recursion limits of their
 * own: depth, breadth and string lengths are bounded here, so a hostile body can neither overflow
 * the stack nor store keys or characters that a reader (superjson, Postgres jsonb) cannot take.
 */

/** Keys that name JavaScript's prototype machinery; superjson refuses to serialise them. */
export const PROTOTYPE_KEYS: ReadonlySet<string> = new Set(["__proto__", "constructor", "prototype"]);

/**
 * NUL and the other C0 controls except tab, line feed and carriage return; DEL and the C1
 * controls; and the bidirectional overrides and isolates that make text display in another order
 * than it is stored ("Trojan Source").
 */
// eslint-disable-next-line no-control-regex
export const FORBIDDEN_CHARACTERS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]/;

/** The documented limits of any procedure's input (a procedure's own schema may be stricter). */
export const INPUT_LIMITS = {
  /** Nesting of objects and arrays. */
  depth: 8,
  /** Characters in one string, and in one key. */
  stringLength: 4096,
  keyLength: 128,
  /** Items in one array, keys in one object. */
  arrayLength: 1000,
  objectKeys: 100,
} as const;

export interface InputRefusal {
  path: string;
  message: string;
}

function describeChar(s: string): string {
  const m = FORBIDDEN_CHARACTERS.exec(s);
  const code = m ? m[0].codePointAt(0)! : 0;
  return `U+${code.toString(16).toUpperCase().padStart(4, "0")}`;
}

/** The first reason to refuse `raw` outright, or null when nothing in it is hostile. */
export function findHostileInput(raw: unknown): InputRefusal | null {
  const stack: { value: unknown; path: string; depth: number }[] = [{ value: raw, path: "", depth: 0 }];
  const at = (path: string) => path || "input";
  while (stack.length > 0) {
    const { value, path, depth } = stack.pop()!;
    if (typeof value === "string") {
      if (value.length > INPUT_LIMITS.stringLength)
        return { path: at(path), message: `text is at most ${INPUT_LIMITS.stringLength} characters (got ${value.length})` };
      if (FORBIDDEN_CHARACTERS.test(value))
        return { path: at(path), message: `control or bidirectional-override character ${describeChar(value)} is not allowed` };
      continue;
    }
    if (value === null || typeof value !== "object") continue;
    if (depth >= INPUT_LIMITS.depth) return { path: at(path), message: `input nests at most ${INPUT_LIMITS.depth} levels deep` };
    if (Array.isArray(value)) {
      if (value.length > INPUT_LIMITS.arrayLength)
        return { path: at(path), message: `a list holds at most ${INPUT_LIMITS.arrayLength} items (got ${value.length})` };
      value.forEach((item, i) => stack.push({ value: item, path: path ? `${path}.${i}` : String(i), depth: depth + 1 }));
      continue;
    }
    if (value instanceof Date) continue;
    // A `__proto__` key that a deserialiser turned into the object's prototype is no longer an
    // own key: its fields would be read through the prototype chain and pass `.strict()`.
    const proto = Object.getPrototypeOf(value) as unknown;
    if (proto !== Object.prototype && proto !== null)
      return { path: at(path), message: 'the field name "__proto__" is not allowed' };
    const keys = Object.keys(value);
    if (keys.length > INPUT_LIMITS.objectKeys)
      return { path: at(path), message: `an object holds at most ${INPUT_LIMITS.objectKeys} fields (got ${keys.length})` };
    for (const key of keys) {
      const keyPath = path ? `${path}.${key}` : key;
      if (PROTOTYPE_KEYS.has(key)) return { path: at(path), message: `the field name "${key}" is not allowed` };
      if (key.length > INPUT_LIMITS.keyLength)
        return { path: at(path), message: `a field name is at most ${INPUT_LIMITS.keyLength} characters` };
      if (FORBIDDEN_CHARACTERS.test(key))
        return { path: at(path), message: `control or bidirectional-override character ${describeChar(key)} in a field name` };
      stack.push({ value: (value as Record<string, unknown>)[key], path: keyPath, depth: depth + 1 });
    }
  }
  return null;
}

const SECRET_KEY = /password|secret|token/i;
/** Bounds of a recorded copy: small enough that an audit row stays a few kilobytes. */
const RECORD_LIMITS = { depth: 5, stringLength: 256, arrayLength: 50, objectKeys: 50, nodes: 500 } as const;
const FORBIDDEN_GLOBAL = new RegExp(FORBIDDEN_CHARACTERS.source, "g");

function safeText(s: string, max: number): string {
  const visible = s.replace(FORBIDDEN_GLOBAL, (c) => `\\u${c.codePointAt(0)!.toString(16).padStart(4, "0")}`);
  return visible.length > max ? `${visible.slice(0, max)}… (${s.length} characters)` : visible;
}

/**
 * A copy of any value that is safe to store and to serialise: secrets redacted, prototype keys
 * renamed (`[constructor]`), control characters written out as `\u0000`, strings, arrays, objects
 * and depth bounded, anything that is not JSON replaced by a description. Never throws.
 */
export function sanitizeForRecord(raw: unknown): unknown {
  let nodes = 0;
  const walk = (value: unknown, depth: number): unknown => {
    if (++nodes > RECORD_LIMITS.nodes) return "[truncated]";
    if (value === null || value === undefined) return null;
    if (typeof value === "string") return safeText(value, RECORD_LIMITS.stringLength);
    if (typeof value === "number") return Number.isFinite(value) ? value : String(value);
    if (typeof value === "boolean") return value;
    if (typeof value === "bigint") return value.toString();
    if (typeof value !== "object") return `[${typeof value}]`;
    if (value instanceof Date) return Number.isNaN(value.getTime()) ? "[invalid date]" : value.toISOString();
    if (depth >= RECORD_LIMITS.depth) return Array.isArray(value) ? `[list of ${value.length}]` : "[object]";
    if (Array.isArray(value)) {
      const items = value.slice(0, RECORD_LIMITS.arrayLength).map((v) => walk(v, depth + 1));
      if (value.length > RECORD_LIMITS.arrayLength) items.push(`[${value.length - RECORD_LIMITS.arrayLength} more]`);
      return items;
    }
    const out: Record<string, unknown> = {};
    const keys = Object.keys(value);
    for (const key of keys.slice(0, RECORD_LIMITS.objectKeys)) {
      const name = safeText(key, 64);
      const safeName = PROTOTYPE_KEYS.has(name) ? `[${name}]` : name;
      let v: unknown;
      try {
        v = (value as Record<string, unknown>)[key];
      } catch {
        v = "[unreadable]";
      }
      Object.defineProperty(out, safeName, {
        value: SECRET_KEY.test(key) ? "[redacted]" : walk(v, depth + 1),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    if (keys.length > RECORD_LIMITS.objectKeys) out["[more fields]"] = keys.length - RECORD_LIMITS.objectKeys;
    return out;
  };
  try {
    return walk(raw, 0);
  } catch {
    return "[unrecordable input]";
  }
}

/** Text such as an error message, bounded and free of control characters, for a stored row. */
export function sanitizeText(s: string, max = 1000): string {
  return safeText(s, max);
}
