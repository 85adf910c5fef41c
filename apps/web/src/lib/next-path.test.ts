import { describe, expect, it } from "vitest";
import { safeNextPath, signInHref } from "./next-path";

describe("safeNextPath", () => {
  it("keeps a console path with its query", () => {
    expect(safeNextPath("/history?status=failed")).toBe("/history?status=failed");
    expect(safeNextPath("/operations/6f1d2c1e-8a43-4b4e-9c55-0d7a3f1e2b10")).toBe(
      "/operations/6f1d2c1e-8a43-4b4e-9c55-0d7a3f1e2b10",
    );
  });
  it.each([
    null,
    undefined,
    "",
    "https://evil.example/",
    "//evil.example/x",
    "/\\evil.example",
    "history",
    "/sign-in",
    "/api/trpc/x",
    "/a\u0000b",
  ])("sends %j to the topology", (v) => expect(safeNextPath(v)).toBe("/"));
});

describe("signInHref", () => {
  it("carries the page asked for, encoded", () => {
    expect(signInHref("/history?kind=split")).toBe("/sign-in?next=%2Fhistory%3Fkind%3Dsplit");
    expect(signInHref("/")).toBe("/sign-in");
    expect(signInHref(null)).toBe("/sign-in");
  });
});
