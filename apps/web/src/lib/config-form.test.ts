import { installedApplications } from "@malleo/applications";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { configFields, configFromValues, initialValues, rangeText } from "./config-form";

/** A kind's schema as applications.kinds gives it to the form. */
function jsonSchema(kind: string): unknown {
  return z.toJSONSchema(installedApplications.get(kind).configSchema, { io: "input", unrepresentable: "any" });
}

describe("config form from an application's JSON Schema", () => {
  it("makes one field per property of pagerank, typed, with its range and nullability", () => {
    const fields = configFields(jsonSchema("pagerank"));
    expect(fields.map((f) => [f.name, f.type, f.nullable, f.required])).toEqual([
      ["nodes", "integer", false, true],
      ["partitions", "integer", false, true],
      ["maxOutDegree", "integer", false, true],
      ["seed", "integer", false, true],
      ["damping", "number", false, true],
      ["maxIterations", "integer", true, true],
      ["iterationDelayMs", "number", false, true],
    ]);
    const [nodes, , , , damping, maxIterations] = fields;
    expect(rangeText(nodes!)).toBe("2 to 200000");
    expect(rangeText(damping!)).toBe("above 0 and below 1");
    // zod's safe-integer bound of .int() is not a range worth saying.
    expect(rangeText(maxIterations!)).toBe("at least 0");
  });

  it("starts from the default configuration and gives it back unchanged", () => {
    for (const kind of installedApplications.kinds()) {
      const fields = configFields(jsonSchema(kind));
      const defaults = installedApplications.get(kind).defaultConfig;
      const { config, problems } = configFromValues(fields, initialValues(fields, defaults));
      expect(problems, kind).toEqual([]);
      expect(config, kind).toEqual(defaults);
      expect(installedApplications.parseConfig(kind, config)).toMatchObject(config);
    }
  });

  it("reads numbers, null and optional fields back, and names each field that is wrong", () => {
    const fields = configFields(jsonSchema("pagerank"));
    const values = initialValues(fields, installedApplications.get("pagerank").defaultConfig);
    const ok = configFromValues(fields, {
      ...values,
      nodes: { text: " 500 ", isNull: false },
      maxIterations: { text: "40", isNull: false },
    });
    expect(ok.problems).toEqual([]);
    expect(ok.config).toMatchObject({ nodes: 500, maxIterations: 40, damping: 0.85 });
    const bad = configFromValues(fields, {
      ...values,
      nodes: { text: "1", isNull: false },
      partitions: { text: "2.5", isNull: false },
      seed: { text: "", isNull: false },
      damping: { text: "1", isNull: false },
      iterationDelayMs: { text: "fast", isNull: false },
    });
    expect(bad.problems).toEqual([
      "nodes: 2 to 200000",
      "partitions: a whole number",
      "seed: required",
      "damping: above 0 and below 1",
      "iterationDelayMs: a number",
    ]);
    // The crawler's optional site is left out when empty, and kept as typed otherwise.
    const crawler = configFields(jsonSchema("crawler"));
    const site = crawler.find((f) => f.name === "site")!;
    expect([site.type, site.required]).toEqual(["string", false]);
    const cv = initialValues(crawler, installedApplications.get("crawler").defaultConfig);
    expect(configFromValues(crawler, cv).config).not.toHaveProperty("site");
    expect(configFromValues(crawler, { ...cv, site: { text: "http://x", isNull: false } }).config.site).toBe("http://x");
  });

  it("falls back to JSON for what it cannot render, and to no fields for a schema that is not an object", () => {
    const fields = configFields({
      type: "object",
      properties: { flag: { type: "boolean" }, list: { type: "array" } },
      required: ["list"],
    });
    expect(fields.map((f) => f.type)).toEqual(["boolean", "json"]);
    const values = initialValues(fields, { flag: true, list: [1, 2] });
    expect(values.list).toEqual({ text: "[1,2]", isNull: false });
    expect(configFromValues(fields, values).config).toEqual({ flag: true, list: [1, 2] });
    expect(configFromValues(fields, { ...values, list: { text: "[1,", isNull: false } }).problems).toEqual([
      "list: not valid JSON",
    ]);
    expect(configFields({ type: "string" })).toEqual([]);
    expect(configFields(null)).toEqual([]);
  });
});
