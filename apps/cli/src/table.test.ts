import { describe, expect, it } from "vitest";
import { mib, ms, table } from "./table";

describe("table", () => {
  it("aligns text left and numbers right", () => {
    expect(
      table(
        ["HOST", "VMS"],
        [
          ["pm-1", 1],
          ["pm-20", 12],
        ],
      ),
    ).toBe("HOST   VMS\npm-1     1\npm-20   12");
  });
  it("prints a header alone for no rows", () => {
    expect(table(["A", "B"], [])).toBe("A  B");
  });
  it("formats memory and durations", () => {
    expect(mib(8192)).toBe("8 GiB");
    expect(mib(3072)).toBe("3 GiB");
    expect(mib(700)).toBe("700 MiB");
    expect(ms(250)).toBe("250 ms");
    expect(ms(12_340)).toBe("12.3 s");
    expect(ms(null)).toBe("—");
  });
});
