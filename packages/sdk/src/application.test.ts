import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { ApplicationModuleError, applicationModuleProblems, contiguousLayout, defineApplication } from "./application";
import { loadApplicationModules } from "./load";
import { ApplicationConfigError, ApplicationRegistry, UnknownApplicationKindError } from "./registry";
import { relayApplication } from "./testing/fixtures/relay";

const noop = { init: () => null, receive: (s: null) => s };

function app(kind: string, behaviors: Record<string, typeof noop> = { [`${kind}.a`]: noop }) {
  return defineApplication({
    kind,
    version: "1.0.0",
    description: kind,
    configSchema: z.object({ n: z.number().int().min(1) }).strict(),
    defaultConfig: { n: 3 },
    behaviors,
    actors: (appId, config) =>
      Array.from({ length: config.n }, (_, i) => ({ uan: `uan://${appId}/x-${i}`, behavior: `${kind}.a`, init: i })),
  });
}

describe("application modules", () => {
  it("names every missing or malformed piece", () => {
    expect(applicationModuleProblems(null)).toEqual(["it is not an object"]);
    const problems = applicationModuleProblems({ kind: "Bad Kind", behaviors: { x: {} }, layout: 3 });
    expect(problems).toEqual([
      '`kind` "Bad Kind" must be lower-case letters, digits and dashes (at most 40)',
      "`version` is missing (a string)",
      "`description` is missing (a string)",
      "`configSchema` is missing (a zod schema)",
      "`actors(appId, config)` is missing",
      "`layout` must be a function",
      'behavior "x" must be named `Bad Kind.<name>`',
      'behavior "x" needs init() and receive()',
    ]);
    expect(() => app("ok", { "other.a": noop })).toThrow(ApplicationModuleError);
    expect(() => defineApplication({ ...app("d"), defaultConfig: { n: 0 } })).toThrow(/defaultConfig. does not pass/);
  });

  it("lays actors out contiguously, sizes differing by at most one", () => {
    expect(contiguousLayout([1, 2, 3, 4, 5], 2)).toEqual([
      [1, 2, 3],
      [4, 5],
    ]);
    expect(() => contiguousLayout([1], 0)).toThrow(RangeError);
  });
});

describe("the registry", () => {
  it("refuses a second module of the same kind or with a behavior already registered", () => {
    const registry = new ApplicationRegistry([app("one")]);
    expect(() => registry.register(app("one"))).toThrow(/kind "one" is already registered/);
    const sneaky = { ...app("two"), behaviors: { "one.a": noop } };
    expect(() => registry.register(sneaky)).toThrow(ApplicationModuleError);
    expect(registry.kinds()).toEqual(["one"]);
    expect(Object.keys(registry.behaviors())).toEqual(["one.a"]);
  });

  it("validates configurations with the module's schema and lists every issue", () => {
    const registry = new ApplicationRegistry([app("one")]);
    expect(registry.actorSpecs("one", "a", { n: 2 }).map((s) => s.uan)).toEqual(["uan://a/x-0", "uan://a/x-1"]);
    let error: unknown;
    try {
      registry.parseConfig("one", { n: 0, extra: true });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ApplicationConfigError);
    expect((error as ApplicationConfigError).issues).toHaveLength(2);
    expect((error as ApplicationConfigError).issues[0]).toMatch(/^n: /);
    expect(() => registry.get("nope")).toThrow(UnknownApplicationKindError);
    expect(() => registry.get("nope")).toThrow('no application of kind "nope" is installed (installed: one)');
  });

  it("checks a module's own layout covers every actor exactly once", () => {
    const lossy = { ...app("lossy"), layout: (actors: readonly { uan: string }[]) => [actors.slice(1)] };
    const registry = new ApplicationRegistry([lossy as never]);
    const specs = registry.actorSpecs("lossy", "l", { n: 3 });
    expect(() => registry.layout("lossy", specs, 1)).toThrow("the lossy layout leaves 1 actors out");
    expect(() => registry.layout("lossy", specs, 2)).toThrow("the lossy layout gave 1 groups for 2 VMs");
  });
});

describe("loading a module by path", () => {
  const fixture = (name: string) => fileURLToPath(new URL(`./test-fixtures/${name}`, import.meta.url));

  it("finds the applications a module exports", async () => {
    const modules = await loadApplicationModules(fileURLToPath(new URL("./testing/fixtures/relay.ts", import.meta.url)));
    expect(modules.map((m) => m.kind)).toEqual([relayApplication.kind]);
  });

  it("refuses one that throws at load, or exports no complete application, saying why", async () => {
    await expect(loadApplicationModules(fixture("throws-at-load.ts"))).rejects.toThrow(/does not load: database not configured/);
    await expect(loadApplicationModules(fixture("incomplete.ts"))).rejects.toThrow(
      /export almost: `description` is missing .*`actors\(appId, config\)` is missing.*`behaviors` is empty/,
    );
    await expect(loadApplicationModules("/nonexistent/app.ts")).rejects.toThrow(ApplicationModuleError);
  });
});
