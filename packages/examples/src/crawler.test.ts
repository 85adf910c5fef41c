import { describe, expect, it } from "vitest";
import { crawlerActorSpecs, crawlerFinished, crawlerOwner, extractLinks, type CrawlerTotals } from "./crawler";
import { ROBOTS_PATH, crawlerPageLinks, crawlerReachablePaths } from "./crawler-site";
import { crawlerApplication } from "./crawler-application";
import { heatApplication } from "./heat-application";

const SITE = { pages: 200, slowEvery: 0, slowMs: 0 };

describe("crawler site generator", () => {
  it("is deterministic and has duplicate links, redirects, 404s and forbidden links", () => {
    expect(crawlerPageLinks(SITE, 40)).toEqual(crawlerPageLinks(SITE, 40));
    const all = Array.from({ length: SITE.pages }, (_, index) => crawlerPageLinks(SITE, index));
    expect(all.every((links) => new Set(links).size < links.length)).toBe(true);
    const flat = all.flat();
    expect(flat.some((link) => link.startsWith("/r/"))).toBe(true);
    expect(flat.some((link) => link.startsWith("/missing/"))).toBe(true);
    expect(flat.some((link) => link.startsWith("/private/"))).toBe(true);
  });

  it("reaches every page, redirect and 404 from the seed, and nothing robots.txt forbids", () => {
    const reachable = crawlerReachablePaths(SITE);
    for (let index = 0; index < SITE.pages; index++) expect(reachable.has(`/p/${index}`)).toBe(true);
    expect(reachable.has(ROBOTS_PATH)).toBe(true);
    expect(reachable.has("/r/0")).toBe(true);
    expect(reachable.has("/missing/7")).toBe(true);
    expect([...reachable].filter((path) => path.startsWith("/private/"))).toEqual([]);
  });
});

describe("crawler partitions", () => {
  it("gives every URL one owner, the same everywhere, and spreads them", () => {
    const counts = new Array<number>(4).fill(0);
    for (let index = 0; index < 1000; index++) counts[crawlerOwner(`http://127.0.0.1:1/p/${index}`, 4)]!++;
    expect(crawlerOwner("http://127.0.0.1:1/p/5", 4)).toBe(crawlerOwner("http://127.0.0.1:1/p/5", 4));
    expect(Math.min(...counts)).toBeGreaterThan(150);
  });

  it("builds one actor per partition, through its application module too", () => {
    const config = { site: "http://127.0.0.1:9/", partitions: 3, politeness: 2 };
    const specs = crawlerActorSpecs("crawl", config);
    expect(specs.map((spec) => spec.uan)).toEqual([
      "uan://crawl/partition-0",
      "uan://crawl/partition-1",
      "uan://crawl/partition-2",
    ]);
    expect(crawlerApplication.actors("crawl", { ...config, pages: 10, slowEvery: 0, slowMs: 0 })).toEqual(specs);
    // Before its site is served: the URL it will have on its fixed port.
    const unserved = crawlerApplication.actors("crawl", {
      partitions: 3,
      politeness: 2,
      pages: 10,
      slowEvery: 0,
      slowMs: 0,
      sitePort: 8123,
    });
    expect((unserved[0]!.init as { site: string }).site).toBe("http://127.0.0.1:8123");
    expect(heatApplication.actors("h", { width: 8, height: 8, actors: 2, maxIterations: 1, iterationDelayMs: 0 })).toHaveLength(
      2,
    );
  });

  it("refuses a configuration its schema does not accept, naming the field", () => {
    const ok = crawlerApplication.defaultConfig;
    expect(crawlerApplication.configSchema.safeParse(ok).success).toBe(true);
    const bad = crawlerApplication.configSchema.safeParse({ ...ok, partitions: 0, extra: 1 });
    expect(bad.success).toBe(false);
    expect(bad.error!.issues.map((i) => i.path.join(".") || i.code).sort()).toEqual(["partitions", "unrecognized_keys"]);
    const heat = heatApplication.configSchema.safeParse({ ...heatApplication.defaultConfig, height: 4, actors: 8 });
    expect(heat.error!.issues.map((i) => i.path.join("."))).toEqual(["actors"]);
  });

  it("extracts hrefs without fragments", () => {
    expect(extractLinks('<a href="/p/1">x</a><a href="/p/2#top">y</a>')).toEqual(["/p/1", "/p/2"]);
  });

  it("declares the crawl finished only after two identical idle snapshots with nothing in transit", () => {
    const idle: CrawlerTotals = { idle: true, sent: 5, received: 5, fetched: 9 };
    expect(crawlerFinished(null, idle)).toBe(false);
    expect(crawlerFinished(idle, idle)).toBe(true);
    expect(crawlerFinished(idle, { ...idle, received: 4 })).toBe(false);
    expect(crawlerFinished({ ...idle, fetched: 8 }, idle)).toBe(false);
    expect(crawlerFinished(idle, { ...idle, idle: false })).toBe(false);
  });
});
