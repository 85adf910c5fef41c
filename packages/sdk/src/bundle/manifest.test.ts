import { describe, expect, it } from "vitest";
import { defineApplication, defineBehavior, z } from "../index";
import { applicationManifest, bundleManifestSchema, upgradeRefusal } from "./manifest";

const counter = defineBehavior<{ n: number }, unknown>({ init: () => ({ n: 0 }), receive: (s) => ({ n: s.n + 1 }) });

function module(version: string, extra: { stateVersion?: number; migrateState?: (s: unknown) => unknown } = {}) {
  return defineApplication({
    kind: "counter",
    version,
    description: "counts",
    configSchema: z.object({ actors: z.number().int().min(1) }).strict(),
    defaultConfig: { actors: 2 },
    behaviors: { "counter.count": counter },
    actors: () => [],
    ...extra,
  });
}

describe("a bundle's manifest and upgrades", () => {
  it("describes the module: schema as JSON Schema, behaviors, state format (default 1) and whether it migrates states", () => {
    const m = applicationManifest(module("1.0.0"));
    expect(m).toMatchObject({
      kind: "counter",
      version: "1.0.0",
      behaviors: ["counter.count"],
      stateVersion: 1,
      migratesState: false,
    });
    expect(m.configSchema).toMatchObject({ type: "object", properties: { actors: { type: "integer", minimum: 1 } } });
    expect(bundleManifestSchema.parse(JSON.parse(JSON.stringify(m)))).toEqual(m);
    // A manifest stored before state formats were recorded reads as format 1, no migration.
    const { stateVersion: _v, migratesState: _m, ...older } = m;
    expect(bundleManifestSchema.parse(older)).toMatchObject({ stateVersion: 1, migratesState: false });
    expect(applicationManifest(module("2.0.0", { stateVersion: 2, migrateState: (s) => s }))).toMatchObject({
      stateVersion: 2,
      migratesState: true,
    });
  });

  it("an upgrade is refused, with the reason, when the new version cannot read the running one's states", () => {
    const v1 = applicationManifest(module("1.0.0"));
    expect(upgradeRefusal(v1, applicationManifest(module("1.1.0")))).toBeNull();
    expect(upgradeRefusal(v1, applicationManifest(module("2.0.0", { stateVersion: 2, migrateState: (s) => s })))).toBeNull();
    expect(upgradeRefusal(v1, applicationManifest(module("2.0.0", { stateVersion: 2 })))).toBe(
      "counter 2.0.0 changed the state format (1 → 2) and has no migrateState: the running actors' states are incompatible",
    );
    const v2 = applicationManifest(module("2.0.0", { stateVersion: 2 }));
    expect(upgradeRefusal(v2, v1)).toMatch(/has state format 1, older than the running 2\.0\.0's 2/);
    expect(upgradeRefusal(v1, v1)).toBe("the application already runs counter 1.0.0");
    expect(upgradeRefusal(v1, { ...v1, kind: "other", version: "9" })).toMatch(/another kind/);
  });

  it("defineApplication refuses a state format that is not a positive integer", () => {
    expect(() => module("1.0.0", { stateVersion: 0 })).toThrow(/`stateVersion` must be a positive integer/);
  });
});
