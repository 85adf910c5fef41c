// @malleo/sdk/testing: run an application's actors on several real theaters and move them as a
// split or a merge would (docs/applications.md, "Test locally").
export { ApplicationHarness, sameBytes, type HarnessOptions, type TransferMode } from "./harness";
