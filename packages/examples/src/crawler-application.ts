// The web crawler as an application module (@malleo/sdk). Its site is generated and served by
// the runner (`services`), on loopback, before the partitions are built with its URL.
import { defineApplication, z } from "@malleo/sdk";
import { crawlerActorSpecs, crawlerBehaviors, type CrawlerConfig } from "./crawler";
import { startCrawlerSite, type CrawlerSiteConfig } from "./crawler-site";

/**
 * A crawler application's stored configuration: the site it crawls (`pages`, `slowEvery`,
 * `slowMs`) and where it is served (`sitePort`, 0 = any free port); `site` is the served URL,
 * known once it listens.
 */
export type CrawlerApplicationConfig = Omit<CrawlerConfig, "site"> & CrawlerSiteConfig & { site?: string; sitePort?: number };

export const crawlerConfigSchema = z
  .object({
    pages: z.number().int().min(1).max(1_000_000),
    slowEvery: z.number().int().min(0),
    slowMs: z.number().int().min(0).max(60_000),
    partitions: z.number().int().min(1).max(1024),
    politeness: z.number().int().min(1).max(256),
    sitePort: z.number().int().min(0).max(65_535).optional(),
    site: z.url().optional(),
  })
  .strict();

export const crawlerApplication = defineApplication<CrawlerApplicationConfig>({
  kind: "crawler",
  version: "1.0.0",
  description: "Web crawler over a generated local site, partitioned by URL hash; every reachable URL fetched exactly once",
  configSchema: crawlerConfigSchema,
  defaultConfig: { pages: 2000, slowEvery: 25, slowMs: 50, partitions: 8, politeness: 4, sitePort: 0 },
  behaviors: crawlerBehaviors,
  actors: (appId, config) =>
    crawlerActorSpecs(appId, {
      // Without `site` (its services not started): the URL the site will have on its fixed port.
      site: config.site ?? `http://127.0.0.1:${config.sitePort ?? 0}`,
      partitions: config.partitions,
      politeness: config.politeness,
    }),
  async services(config) {
    const site = await startCrawlerSite(config, config.sitePort ?? 0);
    return { config: { ...config, site: site.url }, close: () => site.close() };
  },
});
