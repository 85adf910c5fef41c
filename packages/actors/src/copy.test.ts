import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fastCopy } from "./copy";

// What actor states hold: plain objects and arrays, Maps, Sets, typed arrays and primitives.
const leaf = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.string(),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  fc.float64Array({ maxLength: 64 }),
  fc.int32Array({ maxLength: 16 }),
  fc.uint8Array({ maxLength: 16 }),
);
const { state } = fc.letrec((tie) => ({
  state: fc.oneof({ depthSize: "small" }, leaf, tie("array"), tie("object"), tie("map"), tie("set")),
  array: fc.array(tie("state"), { maxLength: 5 }),
  object: fc.dictionary(fc.string({ maxLength: 6 }), tie("state"), { maxKeys: 5 }),
  map: fc.array(fc.tuple(fc.string({ maxLength: 6 }), tie("state")), { maxLength: 4 }).map((e) => new Map(e)),
  set: fc.array(fc.oneof(fc.integer(), fc.string({ maxLength: 6 })), { maxLength: 4 }).map((e) => new Set(e)),
}));

describe("fastCopy", () => {
  it("equals structuredClone for every state shape", () => {
    fc.assert(
      fc.property(state, (value) => {
        expect(fastCopy(value)).toEqual(structuredClone(value));
      }),
      { numRuns: 500 },
    );
  });

  it("is independent of the original: changing one never changes the other", () => {
    const original = { grid: new Float64Array([1, 2, 3]), seen: new Set(["a"]), byHost: new Map([["h", ["u1"]]]) };
    const copy = fastCopy(original);
    original.grid[0] = 99;
    original.seen.add("b");
    original.byHost.get("h")!.push("u2");
    expect(copy).toEqual({ grid: new Float64Array([1, 2, 3]), seen: new Set(["a"]), byHost: new Map([["h", ["u1"]]]) });
    expect(copy.grid.buffer).not.toBe(original.grid.buffer);
  });

  it("keeps shared references and cycles, copies a view of a larger buffer exactly, and refuses a function", () => {
    const shared = { n: 1 };
    const cyclic: Record<string, unknown> = { a: shared, b: shared };
    cyclic.self = cyclic;
    const copy = fastCopy(cyclic);
    expect(copy.a).toBe(copy.b);
    expect(copy.a).not.toBe(shared);
    expect(copy.self).toBe(copy);
    const view = new Float64Array(new ArrayBuffer(64), 16, 2);
    view.set([7, 8]);
    expect(fastCopy({ view })).toEqual(structuredClone({ view }));
    expect(() => fastCopy({ f: () => 1 })).toThrow();
    expect(fastCopy({ when: new Date(5) }).when.getTime()).toBe(5);
  });
});
