import { describe, expect, it } from "vitest";
import { csvField, csvRow, historyFilterFromParams } from "./csv";

describe("csv", () => {
  it("quotes what needs quoting and doubles quotes", () => {
    expect(csvRow(["a", "b,c", 'say "hi"', null, 3])).toBe('a,"b,c","say ""hi""",,3\r\n');
  });

  it("defuses spreadsheet formulas", () => {
    expect(csvField("=HYPERLINK(1)")).toBe("'=HYPERLINK(1)");
  });

  it("writes dates as ISO-8601", () => {
    expect(csvField(new Date("2026-11-25T12:00:00Z"))).toBe("2026-11-25T12:00:00.000Z");
  });
});

describe("historyFilterFromParams", () => {
  it("reads History's URL into the search input, dropping empty fields", () => {
    const p = new URLSearchParams("vm=heat&hostId=&kind=split&status=failed&status=rolled_back&page=2&from=2026-11-25");
    expect(historyFilterFromParams(p)).toEqual({
      vm: "heat",
      kind: "split",
      statuses: ["failed", "rolled_back"],
      page: 2,
      from: "2026-11-25",
    });
  });
});
