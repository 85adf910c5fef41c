// tally 2.1.0 (test-fixtures/tally.ts): 2.0.0's state format, adding 100 per tick — what a rolling
// upgrade from 2.0.0 runs (its migrateState is never called: the format is the same).
import { tallyApplication } from "./tally";

export const tally = tallyApplication("2.1.0", 100, 2, "adds upgradedAt");
