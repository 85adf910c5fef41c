// PageRank under another kind ("ranks"), so that its bundle registers beside the installed
// pagerank (a registry refuses a second module of a kind or a behavior name). The bundle tests
// build this file with `malleo bundle build`'s builder and register it.
import { defineApplication } from "@malleo/sdk";
import { pagerankActors, pagerankApplication, type PagerankConfig } from "../src/index";
import { pagerankPartitionBehavior } from "../src/partition";

const BEHAVIOR = "ranks.partition";

export const ranksApplication = defineApplication<PagerankConfig>({
  ...pagerankApplication,
  kind: "ranks",
  version: "2.0.0",
  description: "PageRank registered as a bundle",
  behaviors: { [BEHAVIOR]: pagerankPartitionBehavior },
  actors: (appId, config) => pagerankActors(appId, config).map((spec) => ({ ...spec, behavior: BEHAVIOR })),
});
