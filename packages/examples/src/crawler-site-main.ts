// Serves the crawler's generated site in its own process:
//   tsx packages/examples/src/crawler-site-main.ts <pages> [slowEvery] [slowMs] [port]
// prints one JSON line {"url": …} once listening, and stops on SIGTERM or when stdin closes.
import { startCrawlerSite } from "./crawler-site";

const [pages = "1000", slowEvery = "100", slowMs = "20", port = "0"] = process.argv.slice(2);
const site = await startCrawlerSite({ pages: Number(pages), slowEvery: Number(slowEvery), slowMs: Number(slowMs) }, Number(port));
process.stdout.write(`${JSON.stringify({ url: site.url })}\n`);
const stop = () => void site.close().then(() => process.exit(0));
process.on("SIGTERM", stop);
process.stdin.on("end", stop);
process.stdin.resume();
