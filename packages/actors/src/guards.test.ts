import { describe, expect, it } from "vitest";
import { checkDeliver, isHostedActorList, isNameList } from "./guards";

describe("inbound guards", () => {
  it("takes a well-formed deliver and refuses each malformed field, saying which", () => {
    const good = { type: "deliver", to: "uan://a/b", from: null, body: { any: "thing" }, hops: 0, seq: 3 };
    expect(checkDeliver(good)).toEqual({ ok: true, value: good });
    expect(checkDeliver({ ...good, to: 42 })).toEqual({ ok: false, error: "deliver: `to` must be a UAN" });
    expect(checkDeliver({ ...good, from: ["x"] })).toEqual({ ok: false, error: "deliver: `from` must be a UAN or null" });
    expect(checkDeliver({ ...good, hops: -1 })).toEqual({ ok: false, error: "deliver: `hops` must be a count" });
    expect(checkDeliver({ ...good, seq: 0 })).toEqual({ ok: false, error: "deliver: `seq` must be a positive integer" });
    expect(checkDeliver({ ...good, to: "x".repeat(1_001) }).ok).toBe(false);
    expect(checkDeliver(null).ok).toBe(false);
    expect(checkDeliver([good]).ok).toBe(false);
  });

  it("checks lists of names and hosted actors item by item", () => {
    expect(isNameList(["a", "b"])).toBe(true);
    expect(isNameList(["a", ""])).toBe(false);
    expect(isNameList("a")).toBe(false);
    expect(isHostedActorList([{ uan: "uan://a/b", behavior: "heat", stateBytes: 10 }])).toBe(true);
    expect(isHostedActorList([{ uan: "uan://a/b", behavior: "heat", stateBytes: -1 }])).toBe(false);
    expect(isHostedActorList([{ uan: "uan://a/b" }])).toBe(false);
  });
});
