import { describe, expect, it } from "vitest";
import { auditTarget } from "./audit";

describe("auditTarget", () => {
  it("names the user and role a users.* mutation acted on, from its answer", () => {
    expect(
      auditTarget("users.create", { name: "vera", role: "viewer", password: "[redacted]" }, { name: "vera", role: "viewer" }),
    ).toBe("vera (viewer)");
    expect(auditTarget("users.setRole", { id: "u1", role: "operator" }, { id: "u1", name: "otto", role: "operator" })).toBe(
      "otto (operator)",
    );
  });
  it("falls back to what a refused request asked for", () => {
    expect(auditTarget("users.create", { name: "shorty", role: "viewer" }, undefined)).toBe("shorty (viewer)");
    expect(auditTarget("hosts.remove", { id: "pm-9" }, undefined)).toBe("host pm-9");
    expect(auditTarget("hosts.test", { uri: "qemu+ssh://root@pm-9/system" }, { ok: false })).toBe(
      "URI qemu+ssh://root@pm-9/system",
    );
  });
  it("names a token and whom it acts as; operations and sign-ins have none", () => {
    expect(
      auditTarget("users.createToken", { userId: "u1", name: "nightly" }, { token: { name: "nightly", user: { name: "otto" } } }),
    ).toBe("token nightly acting as otto");
    expect(auditTarget("operations.split", { vmId: "x" }, { id: "y" })).toBeUndefined();
    expect(auditTarget("auth.signIn", { name: "admin" }, undefined)).toBeUndefined();
  });
});
