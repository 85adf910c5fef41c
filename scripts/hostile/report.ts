import { mkdirSync } from "node:fs";
import path from "node:path";

/** Where each part of the hostile phase writes its counts (read by scripts/hostile.ts). */
export function hostileReportPath(part: "frames" | "api"): string {
  const dir = path.resolve(import.meta.dirname, "../..", process.env.MALLEO_HOSTILE_REPORT_DIR ?? ".data/test-reports");
  mkdirSync(dir, { recursive: true });
  return path.join(dir, `hostile-${part}.json`);
}
