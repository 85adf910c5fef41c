import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { appOfUan, formatAddress, formatUal, formatUan, isUan, parseAddress, parseUal, parseUan, uanOfUal } from "./names";

describe("actor names (UAN)", () => {
  it("formats and parses a name", () => {
    const uan = formatUan("heat", "slab-03");
    expect(uan).toBe("uan://heat/slab-03");
    expect(parseUan(uan)).toEqual({ app: "heat", actor: "slab-03" });
    expect(appOfUan(uan)).toBe("heat");
  });

  it("rejects strings that are not names", () => {
    for (const bad of ["", "heat/slab", "uan://", "uan://heat", "uan://heat/", "ual://1.2.3.4:5/heat/x", "uan://he at/x"]) {
      expect(isUan(bad)).toBe(false);
      expect(() => parseUan(bad)).toThrow(/not a UAN/);
    }
  });

  it("round-trips any well-formed app and actor", () => {
    const segment = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,20}$/);
    fc.assert(
      fc.property(segment, segment, (app, actor) => {
        expect(parseUan(formatUan(app, actor))).toEqual({ app, actor });
      }),
    );
  });
});

describe("actor locators (UAL)", () => {
  it("puts the theater address in front of the name and back", () => {
    const ual = formatUal("127.0.0.1:4100", "uan://heat/slab-03");
    expect(ual).toBe("ual://127.0.0.1:4100/heat/slab-03");
    expect(parseUal(ual)).toEqual({ address: "127.0.0.1:4100", app: "heat", actor: "slab-03" });
    expect(uanOfUal(ual)).toBe("uan://heat/slab-03");
  });

  it("keeps the name when the locator changes", () => {
    const before = formatUal("10.0.0.1:4000", "uan://crawler/frontier");
    const after = formatUal("10.0.0.2:4001", "uan://crawler/frontier");
    expect(before).not.toBe(after);
    expect(uanOfUal(before)).toBe(uanOfUal(after));
  });

  it("rejects a locator without a valid address", () => {
    expect(() => parseUal("ual://nowhere/heat/x")).toThrow(/not a UAL/);
    expect(() => parseUal("ual://host:99999/heat/x")).toThrow(/not a theater address/);
  });
});

describe("theater addresses", () => {
  it("parses host:port, including IPv6 in brackets", () => {
    expect(parseAddress("127.0.0.1:8080")).toEqual({ host: "127.0.0.1", port: 8080 });
    expect(parseAddress("[::1]:9000")).toEqual({ host: "::1", port: 9000 });
    expect(formatAddress("::1", 9000)).toBe("[::1]:9000");
  });

  it("rejects missing or out-of-range ports", () => {
    for (const bad of ["127.0.0.1", "127.0.0.1:0", "127.0.0.1:65536", ":80", "a b:1"]) expect(() => parseAddress(bad)).toThrow();
  });
});
