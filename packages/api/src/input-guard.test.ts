import fc from "fast-check";
import superjson from "superjson";
import { describe, expect, it } from "vitest";
import { FORBIDDEN_CHARACTERS, findHostileInput, INPUT_LIMITS, sanitizeForRecord } from "./input-guard";

/** Nests `leaf` `depth` levels deep without recursion (the shape a hostile body would send). */
function nested(depth: number, leaf: unknown = 1): unknown {
  let v = leaf;
  for (let i = 0; i < depth; i++) v = { a: v };
  return v;
}

describe("findHostileInput", () => {
  it("accepts ordinary input", () => {
    expect(findHostileInput({ vmId: "heat-1", count: 2, targetHostIds: ["pm-1", "pm-2"], note: "tab\tand\nline" })).toBeNull();
    expect(findHostileInput(undefined)).toBeNull();
    expect(findHostileInput("héllo wörld ✓")).toBeNull();
  });

  it.each(["__proto__", "constructor", "prototype"])("refuses the key %s at any depth", (key) => {
    const body = JSON.parse(`{"vmId":"x","deep":{"list":[{"${key}":{"polluted":true}}]}}`) as unknown;
    const refusal = findHostileInput(body);
    expect(refusal).toEqual({ path: "deep.list.0", message: `the field name "${key}" is not allowed` });
  });

  it("refuses an object whose prototype a deserialiser set from a __proto__ key", () => {
    const poisoned = Object.create({ transfer: "barrier" }) as Record<string, unknown>;
    poisoned.vmId = "x";
    expect(findHostileInput({ outer: poisoned })).toEqual({
      path: "outer",
      message: 'the field name "__proto__" is not allowed',
    });
    expect(findHostileInput({ from: new Date(), bare: Object.create(null) as unknown })).toBeNull();
  });

  it.each([
    ["NUL", "a\u0000b", "U+0000"],
    ["escape", "\u001b[31m", "U+001B"],
    ["DEL", "a\u007f", "U+007F"],
    ["C1", "a\u0085", "U+0085"],
    ["right-to-left override", "heat\u202egnp.exe", "U+202E"],
    ["isolate", "\u2066x", "U+2066"],
  ])("refuses a %s character, naming it", (_what, text, code) => {
    expect(findHostileInput({ filter: { vm: text } })?.message).toContain(code);
    expect(findHostileInput({ [text]: 1 })?.message).toContain(code);
  });

  it("refuses sizes past the documented limits", () => {
    expect(findHostileInput({ uri: "x".repeat(INPUT_LIMITS.stringLength + 1) })?.path).toBe("uri");
    expect(findHostileInput({ ids: Array.from({ length: INPUT_LIMITS.arrayLength + 1 }, () => 1) })?.path).toBe("ids");
    expect(
      findHostileInput(Object.fromEntries(Array.from({ length: INPUT_LIMITS.objectKeys + 1 }, (_, i) => [`k${i}`, i]))),
    ).not.toBeNull();
    expect(findHostileInput(nested(INPUT_LIMITS.depth - 1))).toBeNull();
    expect(findHostileInput(nested(INPUT_LIMITS.depth + 1))?.message).toMatch(/levels deep/);
  });

  it("walks a 100,000-deep body without overflowing the stack", () => {
    expect(findHostileInput(nested(100_000))?.message).toMatch(/levels deep/);
  });
});

describe("sanitizeForRecord", () => {
  it("keeps an ordinary input as it was, secrets redacted", () => {
    expect(sanitizeForRecord({ name: "ann", password: "hunter2", nested: { apiToken: "x", n: 3, ok: true } })).toEqual({
      name: "ann",
      password: "[redacted]",
      nested: { apiToken: "[redacted]", n: 3, ok: true },
    });
  });

  it("renames prototype keys so a reader can serialise the row, and keeps them visible", () => {
    const body = JSON.parse('{"__proto__":{"isAdmin":true},"constructor":{"prototype":{"x":1}}}') as unknown;
    const safe = sanitizeForRecord(body);
    expect(() => superjson.serialize(safe)).not.toThrow();
    expect(safe).toEqual({ "[__proto__]": { isAdmin: true }, "[constructor]": { "[prototype]": { x: 1 } } });
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
  });

  it("writes control characters out and bounds sizes", () => {
    const safe = sanitizeForRecord({
      vm: "a\u0000b",
      big: "x".repeat(10_000),
      list: Array.from({ length: 500 }, (_, i) => i),
    }) as {
      vm: string;
      big: string;
      list: unknown[];
    };
    expect(safe.vm).toBe("a\\u0000b");
    expect(safe.big.length).toBeLessThan(300);
    expect(safe.list).toHaveLength(51);
    expect(JSON.stringify(sanitizeForRecord(nested(100_000))).length).toBeLessThan(200);
  });

  it("never throws and always yields a small value superjson and Postgres accept (property)", () => {
    const hostileKey = fc.oneof(fc.constantFrom("__proto__", "constructor", "prototype", "\u0000", "a\u202eb"), fc.string());
    const value = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: "small" },
        fc.string(),
        fc.double(),
        fc.boolean(),
        fc.constant(null),
        fc.array(tie("node"), { maxLength: 80 }),
        fc.dictionary(hostileKey, tie("node"), { maxKeys: 60 }),
      ),
    })).node;
    fc.assert(
      fc.property(value, (v) => {
        const safe = sanitizeForRecord(v);
        expect(() => superjson.serialize(safe)).not.toThrow();
        // No key or string keeps a control character (Postgres' jsonb refuses \u0000).
        const text =
          JSON.stringify(safe, (key, x: unknown) => {
            expect(FORBIDDEN_CHARACTERS.test(key)).toBe(false);
            if (typeof x === "string") expect(FORBIDDEN_CHARACTERS.test(x)).toBe(false);
            return x;
          }) ?? "";
        expect(text.length).toBeLessThan(200_000);
      }),
      { numRuns: 300, seed: 42 },
    );
  });
});
