// What the worker needs to run either sample application without knowing its details.
import type { ActorSpec, BehaviorRegistry } from "@malleo/actors";
import { crawlerActorSpecs, crawlerBehaviors, type CrawlerConfig } from "./crawler";
import type { CrawlerSiteConfig } from "./crawler-site";
import { heatActorSpecs, heatBehaviors, type HeatConfig } from "./heat";

export type ApplicationKind = "heat" | "crawler";

/**
 * A crawler application's stored configuration: the site it crawls is generated and served by
 * the worker (`startCrawlerSite`), whose URL is only known once it listens.
 */
export type CrawlerApplicationConfig = Omit<CrawlerConfig, "site"> & CrawlerSiteConfig & { site?: string };

/** Every application behavior, for the theaters to register. */
export const applicationBehaviors: BehaviorRegistry = { ...heatBehaviors, ...crawlerBehaviors };

/** The actors of one application. A crawler's config must carry `site` (the served site's URL). */
export function applicationActorSpecs(kind: string, appId: string, config: unknown): ActorSpec[] {
  if (kind === "heat") return heatActorSpecs(appId, config as HeatConfig);
  if (kind === "crawler") {
    const crawler = config as CrawlerApplicationConfig;
    if (!crawler.site) throw new Error(`crawler application ${appId} has no site URL: start its site first`);
    return crawlerActorSpecs(appId, { site: crawler.site, partitions: crawler.partitions, politeness: crawler.politeness });
  }
  throw new Error(`unknown application kind ${JSON.stringify(kind)}`);
}
