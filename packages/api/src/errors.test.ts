import { ERROR_CODES, type ErrorCode } from "@malleo/core";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { describeInputIssues, inputIssuesOf, trpcCodeForAppCode } from "./errors";

describe("trpcCodeForAppCode", () => {
  it("maps refusals a person can fix to 4xx codes", () => {
    expect(trpcCodeForAppCode("INVALID_INPUT")).toBe("BAD_REQUEST");
    expect(trpcCodeForAppCode("SPLIT_TOO_SMALL")).toBe("BAD_REQUEST");
    expect(trpcCodeForAppCode("MERGE_INVALID")).toBe("BAD_REQUEST");
    expect(trpcCodeForAppCode("NOT_FOUND")).toBe("NOT_FOUND");
    expect(trpcCodeForAppCode("VM_LOCKED")).toBe("CONFLICT");
    expect(trpcCodeForAppCode("NOT_WAITING")).toBe("CONFLICT");
    expect(trpcCodeForAppCode("QUOTA_EXCEEDED")).toBe("PRECONDITION_FAILED");
    expect(trpcCodeForAppCode("CAPACITY_EXCEEDED")).toBe("PRECONDITION_FAILED");
  });

  it("has a mapping for every domain code", () => {
    for (const code of Object.keys(ERROR_CODES) as ErrorCode[]) {
      expect(trpcCodeForAppCode(code), code).toMatch(/^[A-Z_]+$/);
    }
  });
});

describe("inputIssuesOf / describeInputIssues", () => {
  const schema = z.object({ count: z.number().min(2, { error: "a split makes at least 2 VMs" }), hosts: z.array(z.string()) });

  it("names each rejected field and what would be accepted", () => {
    const r = schema.safeParse({ count: 1, hosts: [3] });
    const issues = inputIssuesOf(r.error);
    expect(issues).toEqual([
      { path: "count", message: "a split makes at least 2 VMs" },
      { path: "hosts.0", message: expect.stringContaining("string") },
    ]);
    expect(describeInputIssues(issues!)).toMatch(/^count: a split makes at least 2 VMs; hosts\.0: /);
  });

  it("accepts Standard Schema paths made of { key } segments", () => {
    expect(inputIssuesOf({ issues: [{ message: "bad", path: [{ key: "vmIds" }, { key: 1 }] }] })).toEqual([
      { path: "vmIds.1", message: "bad" },
    ]);
  });

  it("is undefined for errors that are not validation failures", () => {
    expect(inputIssuesOf(new Error("boom"))).toBeUndefined();
    expect(inputIssuesOf(undefined)).toBeUndefined();
  });

  it("describes an issue without a path by its message alone", () => {
    expect(describeInputIssues([{ path: "", message: "a merge needs at least 2 VMs" }])).toBe("a merge needs at least 2 VMs");
  });
});
