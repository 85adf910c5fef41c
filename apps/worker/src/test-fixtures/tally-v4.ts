// tally 4.0.0 (test-fixtures/tally.ts): built as a bundle by upgrade.integration.test.ts.
import { tallyApplication } from "./tally";

export const tally = tallyApplication("4.0.0", 10, 3, "throws");
