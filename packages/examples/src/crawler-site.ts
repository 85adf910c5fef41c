// A deterministic local web site for the crawler: N pages whose links are generated from the
// page number (so the set of reachable URLs can be computed without crawling), with duplicate
// links, self links, slow pages, 404s, redirects and a robots.txt that forbids /private/. The
// server counts every fetch by path, so a test can check that each reachable URL was fetched
// exactly once and nothing forbidden was fetched at all.
import { createServer, type Server } from "node:http";

export interface CrawlerSiteConfig {
  pages: number;
  /** Every `slowEvery`-th page answers after `slowMs` (0 = none). */
  slowEvery: number;
  slowMs: number;
}

export const CRAWLER_SEED_PATH = "/p/0";
export const ROBOTS_PATH = "/robots.txt";
const ROBOTS_TXT = "User-agent: *\nDisallow: /private/\n";
/** Not a page: the server's fetch counters as JSON, not counted itself. */
export const SITE_STATS_PATH = "/__stats";

function mix(a: number, b: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x632be5ab, 0xc2b2ae35);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  return h >>> 0;
}

/** The links of page `index`, in page order, duplicates included (paths, relative to the site). */
export function crawlerPageLinks(config: CrawlerSiteConfig, index: number): string[] {
  const n = config.pages;
  const links = [`/p/${(index + 1) % n}`];
  const extra = 2 + (mix(index, 0) % 4);
  for (let k = 1; k <= extra; k++) links.push(`/p/${mix(index, k) % n}`);
  links.push(links[1]!); // a duplicate link on every page
  if (index % 11 === 0) links.push(`/p/${index}`);
  if (index % 20 === 0) links.push(`/r/${index}`);
  if (index % 50 === 7) links.push(`/missing/${index}`);
  if (index % 30 === 3) links.push(`/private/${index}`);
  return links;
}

function redirectTarget(config: CrawlerSiteConfig, index: number): string {
  return `/p/${(index * 7 + 3) % config.pages}`;
}

function isDisallowed(path: string): boolean {
  return path.startsWith("/private/");
}

/** Every path a polite crawler starting at the seed fetches: pages, redirects and 404s it can reach, and robots.txt. */
export function crawlerReachablePaths(config: CrawlerSiteConfig): Set<string> {
  const reached = new Set<string>([ROBOTS_PATH, CRAWLER_SEED_PATH]);
  const queue = [CRAWLER_SEED_PATH];
  while (queue.length > 0) {
    const path = queue.shift()!;
    const next: string[] = [];
    const page = /^\/p\/(\d+)$/.exec(path);
    const redirect = /^\/r\/(\d+)$/.exec(path);
    if (page && Number(page[1]) < config.pages) next.push(...crawlerPageLinks(config, Number(page[1])));
    else if (redirect) next.push(redirectTarget(config, Number(redirect[1])));
    for (const link of next) {
      if (reached.has(link) || isDisallowed(link)) continue;
      reached.add(link);
      queue.push(link);
    }
  }
  return reached;
}

function pageHtml(config: CrawlerSiteConfig, index: number): string {
  const anchors = crawlerPageLinks(config, index)
    .map((link) => `<li><a href="${link}">${link}</a></li>`)
    .join("");
  return `<!doctype html><html><head><title>page ${index}</title></head><body><h1>Page ${index}</h1><ul>${anchors}</ul></body></html>`;
}

export interface SiteStats {
  /** Fetches by path. */
  fetches: Record<string, number>;
  total: number;
  /** Most requests being answered at the same moment. */
  maxConcurrent: number;
}

export interface CrawlerSite {
  /** Base URL, e.g. http://127.0.0.1:41234 */
  url: string;
  stats(): SiteStats;
  close(): Promise<void>;
}

/** Serves the site on loopback (an ephemeral port unless `port` is given). */
export async function startCrawlerSite(config: CrawlerSiteConfig, port = 0): Promise<CrawlerSite> {
  if (!Number.isInteger(config.pages) || config.pages < 1)
    throw new Error(`pages must be a positive integer, got ${config.pages}`);
  const fetches = new Map<string, number>();
  let total = 0;
  let concurrent = 0;
  let maxConcurrent = 0;
  const stats = (): SiteStats => ({ fetches: Object.fromEntries(fetches), total, maxConcurrent });
  const server: Server = createServer((request, response) => {
    const path = new URL(request.url ?? "/", "http://site").pathname;
    if (path === SITE_STATS_PATH) {
      response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(stats()));
      return;
    }
    fetches.set(path, (fetches.get(path) ?? 0) + 1);
    total++;
    concurrent++;
    maxConcurrent = Math.max(maxConcurrent, concurrent);
    const answer = (status: number, headers: Record<string, string>, body: string) => {
      response.writeHead(status, headers).end(body, () => concurrent--);
    };
    const page = /^\/p\/(\d+)$/.exec(path);
    const redirect = /^\/r\/(\d+)$/.exec(path);
    if (path === ROBOTS_PATH) answer(200, { "content-type": "text/plain" }, ROBOTS_TXT);
    else if (page && Number(page[1]) < config.pages) {
      const index = Number(page[1]);
      const send = () => answer(200, { "content-type": "text/html" }, pageHtml(config, index));
      if (config.slowEvery > 0 && config.slowMs > 0 && index % config.slowEvery === config.slowEvery - 1)
        setTimeout(send, config.slowMs);
      else send();
    } else if (redirect) answer(302, { location: redirectTarget(config, Number(redirect[1])) }, "");
    else if (path.startsWith("/private/")) answer(200, { "content-type": "text/html" }, "<p>private</p>");
    else answer(404, { "content-type": "text/plain" }, "not found");
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  const address = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${address.port}`,
    stats,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Reads the counters of a site served by another process. */
export async function fetchSiteStats(siteUrl: string): Promise<SiteStats> {
  const response = await fetch(`${siteUrl}${SITE_STATS_PATH}`);
  if (!response.ok) throw new Error(`site stats: HTTP ${response.status}`);
  return (await response.json()) as SiteStats;
}
