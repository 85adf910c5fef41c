import { describe, expect, it } from "vitest";
import { classifyLibvirtMessage, HypervisorError, isHypervisorError, wrapLibvirtError } from "./errors";
import { KeyedMutex } from "./keyed-mutex";

describe("classifyLibvirtMessage (messages captured from libvirt 9/10)", () => {
  it.each([
    ["Domain not found", "not-found"],
    ["Domain not found: no domain with matching uuid '1111' (big)", "not-found"],
    ["operation failed: domain 'vm1' already exists with uuid 1111", "already-exists"],
    ["operation failed: domain 'one' is already defined with uuid 1111", "already-exists"],
    ["internal error: Domain 'big' is already running", "already-running"],
    ["Requested operation is not valid: domain is not running", "not-running"],
    ["Cannot recv data: Connection reset by peer", "connection"],
    ["internal error: client socket is closed", "connection"],
    ["End of file while reading data: Input/output error", "connection"],
    ["XML error: name bad/ cannot contain '/'", "other"],
  ])("%s -> %s", (msg, kind) => {
    expect(classifyLibvirtMessage(msg)).toBe(kind);
  });
});

describe("HypervisorError", () => {
  it("carries code, host, domain and cause", () => {
    const cause = new Error("Domain not found");
    const e = wrapLibvirtError(cause, "pm-1", "LIBVIRT_ERROR", "lookup failed", "vm-1");
    expect(e).toBeInstanceOf(HypervisorError);
    expect(e.code).toBe("DOMAIN_NOT_FOUND");
    expect(e.hostId).toBe("pm-1");
    expect(e.domain).toBe("vm-1");
    expect(e.cause).toBe(cause);
    expect(e.message).toContain("[pm-1/vm-1] DOMAIN_NOT_FOUND");
    expect(isHypervisorError(e, "DOMAIN_NOT_FOUND")).toBe(true);
    expect(isHypervisorError(e, "HOST_CLOSED")).toBe(false);
  });
  it("marks connection failures retryable", () => {
    const e = wrapLibvirtError(new Error("Cannot write data: Broken pipe"), "pm-1", "LIBVIRT_ERROR", "x");
    expect(e.code).toBe("HOST_UNREACHABLE");
    expect(e.retryable).toBe(true);
  });
});

describe("KeyedMutex", () => {
  it("serialises per key, runs keys in parallel and survives failures", async () => {
    const m = new KeyedMutex();
    const log: string[] = [];
    const step =
      (tag: string, ms: number, fail = false) =>
      async () => {
        log.push(`${tag}+`);
        await new Promise((r) => setTimeout(r, ms));
        log.push(`${tag}-`);
        if (fail) throw new Error(tag);
        return tag;
      };
    const results = await Promise.allSettled([
      m.run("a", step("a1", 20, true)),
      m.run("a", step("a2", 1)),
      m.run("b", step("b1", 5)),
    ]);
    expect(results.map((r) => r.status)).toEqual(["rejected", "fulfilled", "fulfilled"]);
    expect(log.indexOf("a1-")).toBeLessThan(log.indexOf("a2+"));
    expect(log.indexOf("b1+")).toBeLessThan(log.indexOf("a1-"));
  });
});
