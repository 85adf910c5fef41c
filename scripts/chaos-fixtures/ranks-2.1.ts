// The next version of PageRank as a bundle (applications/pagerank/test-fixtures/ranks-bundle.ts,
// 2.0.0): the same behaviors and state format, so an upgrade to it restores every partition
// from the upgrade's checkpoint unmigrated, and the ranks still end bit-identical to the
// sequential reference. scripts/chaos-upgrade.ts builds and registers both.
import { defineApplication } from "@malleo/sdk";
import type { PagerankConfig } from "@malleo/pagerank";
import { ranksApplication } from "../../applications/pagerank/test-fixtures/ranks-bundle";

export const ranksNext = defineApplication<PagerankConfig>({ ...ranksApplication, version: "2.1.0" });
