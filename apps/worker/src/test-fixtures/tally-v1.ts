// tally 1.0.0 (test-fixtures/tally.ts): built as a bundle by upgrade.integration.test.ts.
import { tallyApplication } from "./tally";

export const tally = tallyApplication("1.0.0", 1, 1, "none");
