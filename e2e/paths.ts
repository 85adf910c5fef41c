import path from "node:path";

// Shared by playwright.config.ts and the specs. Overridable so that two checkouts can run their
// suites side by side.
export const E2E_PORT = Number(process.env.MALLEO_E2E_PORT ?? 3100);
// A run on its own port keeps its own data directory, so two suites never share a database.
export const E2E_DATA_DIR = process.env.MALLEO_E2E_PORT ? `.data/e2e-${E2E_PORT}` : ".data/e2e";
/**
 * While this file exists the worker's ready barrier finds no actor at its safe point
 * (MALLEO_TEST_HOLD_READY_FILE, apps/worker/src/hold-ready.ts): a spec creates it to make a
 * barrier time out and removes it to let the actors get ready.
 */
export const HOLD_READY_FILE = path.resolve(E2E_DATA_DIR, "hold-ready");
