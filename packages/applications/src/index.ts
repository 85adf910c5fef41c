// The applications this deployment runs. To install one, add its module here (docs/applications.md,
// "Register"): the worker builds and places its actors, every theater registers its behaviors and
// the API validates deployments with its schema — none of them knows an application by name.
import { crawlerApplication, heatApplication } from "@malleo/examples";
import { pagerankApplication } from "@malleo/pagerank";
import { ApplicationRegistry } from "@malleo/sdk";

export const installedApplications = new ApplicationRegistry([heatApplication, crawlerApplication, pagerankApplication]);
